-- One database and one login role per Tanso service (DESIGN.md: services share no database).
--
-- Run once by the postgres image's entrypoint, as the superuser, when the data volume is empty
-- (docker-compose.yml mounts this folder at /docker-entrypoint-initdb.d). Each role owns only its
-- own database, and PUBLIC loses CONNECT on every one, so a service's credentials cannot open
-- another service's database.
--
-- Passwords come from the environment of the postgres container (psql \getenv, PostgreSQL 15+).
-- docker-compose.yml passes them with DEV-ONLY defaults (`<service>-dev-only`); set real values
-- (e.g. in an untracked .env next to docker-compose.yml) anywhere that is not a laptop. They are
-- embedded in SQLAlchemy URLs, so keep them URL-safe. The script fails, and the container with it,
-- when one is missing. Changing one later needs ALTER ROLE (this script does not run again).

\set ON_ERROR_STOP on

-- identity ----------------------------------------------------------------------------------------
\getenv identity_password IDENTITY_DB_PASSWORD
\if :{?identity_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'IDENTITY_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_identity LOGIN PASSWORD :'identity_password';
CREATE DATABASE identity OWNER tanso_identity;
REVOKE ALL ON DATABASE identity FROM PUBLIC;

-- factors -----------------------------------------------------------------------------------------
\getenv factors_password FACTORS_DB_PASSWORD
\if :{?factors_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'FACTORS_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_factors LOGIN PASSWORD :'factors_password';
CREATE DATABASE factors OWNER tanso_factors;
REVOKE ALL ON DATABASE factors FROM PUBLIC;

-- activities --------------------------------------------------------------------------------------
\getenv activities_password ACTIVITIES_DB_PASSWORD
\if :{?activities_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'ACTIVITIES_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_activities LOGIN PASSWORD :'activities_password';
CREATE DATABASE activities OWNER tanso_activities;
REVOKE ALL ON DATABASE activities FROM PUBLIC;

-- calculation -------------------------------------------------------------------------------------
\getenv calculation_password CALCULATION_DB_PASSWORD
\if :{?calculation_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'CALCULATION_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_calculation LOGIN PASSWORD :'calculation_password';
CREATE DATABASE calculation OWNER tanso_calculation;
REVOKE ALL ON DATABASE calculation FROM PUBLIC;

-- supplier-exchange -------------------------------------------------------------------------------
\getenv supplier_exchange_password SUPPLIER_EXCHANGE_DB_PASSWORD
\if :{?supplier_exchange_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'SUPPLIER_EXCHANGE_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_supplier_exchange LOGIN PASSWORD :'supplier_exchange_password';
CREATE DATABASE supplier_exchange OWNER tanso_supplier_exchange;
REVOKE ALL ON DATABASE supplier_exchange FROM PUBLIC;

-- reporting ---------------------------------------------------------------------------------------
\getenv reporting_password REPORTING_DB_PASSWORD
\if :{?reporting_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'REPORTING_DB_PASSWORD is not set'; END $$;
\endif
CREATE ROLE tanso_reporting LOGIN PASSWORD :'reporting_password';
CREATE DATABASE reporting OWNER tanso_reporting;
REVOKE ALL ON DATABASE reporting FROM PUBLIC;

-- Service roles have no business in the maintenance database either.
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
