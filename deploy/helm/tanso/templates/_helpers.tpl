{{/*
Helpers shared by every template. Templates loop over .Values.services; the per-service helpers
take a dict: (dict "root" $ "name" $name "svc" $svc).
*/}}

{{- define "tanso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name; the release name alone when it already contains the chart name. */}}
{{- define "tanso.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tanso.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selects every pod of this release (the default-deny policy, identity's JWKS ingress). */}}
{{- define "tanso.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "tanso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tanso.labels" -}}
helm.sh/chart: {{ include "tanso.chart" . }}
{{ include "tanso.releaseSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tanso
{{- end -}}

{{/* (dict "root" $ "name" $name): the pods of one service. */}}
{{- define "tanso.selectorLabels" -}}
{{ include "tanso.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "tanso.componentLabels" -}}
{{ include "tanso.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* (dict "root" $ "name" $name): the name of a service's objects, e.g. tanso-identity. */}}
{{- define "tanso.componentName" -}}
{{- printf "%s-%s" (include "tanso.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tanso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tanso.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* TANSO_<SERVICE>_: the env prefix of the service's Settings (supplier-exchange → SUPPLIER_EXCHANGE). */}}
{{- define "tanso.envPrefix" -}}
{{- printf "TANSO_%s_" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/* The Python package the image runs: tanso_<name with _>. */}}
{{- define "tanso.module" -}}
{{- printf "tanso_%s" (. | replace "-" "_") -}}
{{- end -}}

{{/* (dict "root" $ "name" $name "svc" $svc): <registry>/<namePrefix><name>:<tag>, or the overrides. */}}
{{- define "tanso.image" -}}
{{- $image := .root.Values.image -}}
{{- $own := .svc.image | default dict -}}
{{- $repository := $own.repository | default (printf "%s%s" $image.namePrefix .name) -}}
{{- if and $image.registry (not $own.repository) -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $image.registry) $repository -}}
{{- end -}}
{{- printf "%s:%s" $repository ($own.tag | default $image.tag | default .root.Chart.AppVersion | toString) -}}
{{- end -}}

{{/* "true" when the service publishes events, i.e. has an outbox relay (in its pods or its own). */}}
{{- define "tanso.runsRelay" -}}
{{- if and .svc.kafka .svc.kafka.enabled -}}true{{- end -}}
{{- end -}}

{{/* "true" when the service's relay runs inside every API pod (relay.mode inProcess). */}}
{{- define "tanso.relayInProcess" -}}
{{- if and (include "tanso.runsRelay" .) (eq .root.Values.relay.mode "inProcess") -}}true{{- end -}}
{{- end -}}

{{/* "true" when the service's relay is a Deployment of its own (relay.mode external). */}}
{{- define "tanso.externalRelay" -}}
{{- if and (include "tanso.runsRelay" .) (eq .root.Values.relay.mode "external") -}}true{{- end -}}
{{- end -}}

{{/* (dict "root" $ "name" $name): the relay's component name, e.g. activities-relay. */}}
{{- define "tanso.relayComponent" -}}
{{- printf "%s-relay" .name -}}
{{- end -}}

{{- define "tanso.usesDatabase" -}}
{{- if and .svc.database .svc.database.enabled -}}true{{- end -}}
{{- end -}}

{{/* Highest number of pods the service can have at once (replicas, or the autoscaler's maximum). */}}
{{- define "tanso.maxReplicas" -}}
{{- if and .svc.autoscaling .svc.autoscaling.enabled -}}
{{- .svc.autoscaling.maxReplicas | int -}}
{{- else -}}
{{- .svc.replicas | default 1 | int -}}
{{- end -}}
{{- end -}}

{{/*
Deployment strategy. Recreate when the pod runs an outbox relay in process (an old and a new pod side
by side would be two relays, see values.yaml `relay`) or mounts a ReadWriteOnce claim (a new pod on another
node could not attach it while the old one runs); rolling otherwise. services.<name>.strategy wins.
*/}}
{{- define "tanso.strategy" -}}
{{- if .svc.strategy -}}
{{- toYaml .svc.strategy -}}
{{- else if or
      (and (include "tanso.relayInProcess" .) (not .root.Values.relay.allowMultipleRelays))
      (and .svc.persistence .svc.persistence.enabled) -}}
type: Recreate
{{- else -}}
type: RollingUpdate
rollingUpdate:
  maxSurge: 1
  maxUnavailable: 0
{{- end -}}
{{- end -}}

{{- define "tanso.jwksUrl" -}}
{{- if .Values.auth.jwksUrl -}}
{{- .Values.auth.jwksUrl -}}
{{- else -}}
{{- $host := include "tanso.componentName" (dict "root" . "name" "identity") -}}
{{- printf "http://%s:%d/.well-known/jwks.json" $host (.Values.services.identity.port | int) -}}
{{- end -}}
{{- end -}}

{{- define "tanso.databaseSecretName" -}}
{{- printf "%s-database" (include "tanso.componentName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "true" when the chart renders the service's database Secret (dev-only password). */}}
{{- define "tanso.rendersDatabaseSecret" -}}
{{- $db := .svc.database -}}
{{- $passwordSecret := and $db.passwordSecret $db.passwordSecret.name -}}
{{- if and (include "tanso.usesDatabase" .) (not $db.existingSecret) (not $passwordSecret) -}}true{{- end -}}
{{- end -}}

{{/* postgresql+asyncpg://<user>:<password>@<postgres.host>:<port>/<database name> */}}
{{- define "tanso.databaseUrl" -}}
{{- $pg := .root.Values.postgres -}}
{{- $db := .svc.database -}}
{{- printf "postgresql+asyncpg://%s:%s@%s:%d/%s" $db.user .password $pg.host ($pg.port | int) $db.name -}}
{{- end -}}

{{/* The URL of the chart-rendered (development) Secret: password `<service>-dev-only`. */}}
{{- define "tanso.devDatabaseUrl" -}}
{{- include "tanso.databaseUrl" (dict "root" .root "svc" .svc "password" (printf "%s-dev-only" .name)) -}}
{{- end -}}

{{/*
A settings value as the ConfigMap string pydantic-settings parses: strings as they are, everything
else (numbers, booleans, lists, maps) as JSON.
*/}}
{{- define "tanso.settingValue" -}}
{{- if kindIs "string" . -}}{{- . -}}{{- else -}}{{- toJson . -}}{{- end -}}
{{- end -}}

{{/*
(dict "root" $ "name" $name "svc" $svc): the service's non-secret settings, env name → value, as
YAML. The same names as docker-compose.yml; tests/deploy/test_helm.py checks each against the
service's Settings class.
*/}}
{{- define "tanso.settings" -}}
{{- $root := .root -}}
{{- $prefix := include "tanso.envPrefix" .name -}}
{{- $env := dict -}}
{{- $_ := set $env (printf "%sHTTP__HOST" $prefix) "0.0.0.0" -}}
{{- $_ := set $env (printf "%sHTTP__PORT" $prefix) (.svc.port | toString) -}}
{{- $_ := set $env (printf "%sDATA_DIR" $prefix) "/var/lib/tanso" -}}
{{- $_ := set $env (printf "%sAUTH__JWKS_URL" $prefix) (include "tanso.jwksUrl" $root) -}}
{{- if include "tanso.runsRelay" . -}}
{{- $kafka := $root.Values.kafka -}}
{{- $_ := set $env (printf "%sKAFKA__BOOTSTRAP_SERVERS" $prefix) $kafka.bootstrapServers -}}
{{- $_ := set $env (printf "%sKAFKA__REPUBLISH_WINDOW_SECONDS" $prefix) ($kafka.republishWindowSeconds | toString) -}}
{{- $_ := set $env (printf "%sKAFKA__FETCH_MAX_WAIT_MS" $prefix) ($kafka.fetchMaxWaitMs | toString) -}}
{{- $_ := set $env (printf "%sKAFKA__REPLICATION_FACTOR" $prefix) ($kafka.replicationFactor | default 1 | toString) -}}
{{- end -}}
{{- if include "tanso.externalRelay" . -}}
{{- $_ := set $env (printf "%sOUTBOX__RELAY" $prefix) "external" -}}
{{- end -}}
{{- if eq .name "gateway" -}}
{{- $upstreams := dict -}}
{{- range $other, $otherSvc := $root.Values.services -}}
{{- if and $otherSvc.enabled (ne $other "gateway") -}}
{{- $host := include "tanso.componentName" (dict "root" $root "name" $other) -}}
{{- $_ := set $upstreams $other (printf "http://%s:%d" $host ($otherSvc.port | int)) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $env (printf "%sUPSTREAMS" $prefix) (toJson $upstreams) -}}
{{- end -}}
{{- range $suffix, $value := $root.Values.commonSettings -}}
{{- $_ := set $env (printf "%s%s" $prefix $suffix) (include "tanso.settingValue" $value) -}}
{{- end -}}
{{- range $suffix, $value := .svc.settings -}}
{{- $_ := set $env (printf "%s%s" $prefix $suffix) (include "tanso.settingValue" $value) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* NetworkPolicy ports: a list of numbers → [{port, protocol}], TCP (and UDP with "udp"). */}}
{{- define "tanso.policyPorts" -}}
{{- range .ports }}
- port: {{ . | int }}
  protocol: TCP
{{- if $.udp }}
- port: {{ . | int }}
  protocol: UDP
{{- end }}
{{- end }}
{{- end -}}

{{/*
Values the schema cannot check, failing the render with the reason. Included once, from
deployment.yaml.
*/}}
{{- define "tanso.validate" -}}
{{- $root := . -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $ctx := dict "root" $root "name" $name "svc" $svc -}}
{{- $severalPods := gt (include "tanso.maxReplicas" $ctx | int) 1 -}}
{{- if and (include "tanso.relayInProcess" $ctx) $severalPods (not $root.Values.relay.allowMultipleRelays) -}}
{{- fail (printf (cat
      "services.%s: with relay.mode=inProcess more than one pod means more than one outbox relay,"
      "and then per-aggregate event order is not guaranteed. Set relay.mode=external (one relay"
      "Deployment per service; the API pods may then scale), keep replicas (and"
      "autoscaling.maxReplicas) at 1, or set relay.allowMultipleRelays=true to accept that (see"
      "values.yaml `relay`).") $name) -}}
{{- end -}}
{{- if and (include "tanso.externalRelay" $ctx) (not (include "tanso.usesDatabase" $ctx)) -}}
{{- fail (printf (cat
      "services.%s: an external outbox relay reads the service's outbox from its PostgreSQL"
      "database, but database.enabled is false (a SQLite file inside the API pod is out of its"
      "reach). Enable the database or set relay.mode=inProcess.") $name) -}}
{{- end -}}
{{- $persistence := $svc.persistence | default dict -}}
{{- if and $persistence.enabled $severalPods (has "ReadWriteOnce" ($persistence.accessModes | default list)) -}}
{{- fail (printf (cat
      "services.%s: several pods cannot share a ReadWriteOnce claim; for identity provide the"
      "signing key from a Secret (signingKey.existingSecret) and disable persistence.") $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.auth.jwksUrl) (not .Values.services.identity.enabled) -}}
{{- fail (cat "services.identity is disabled: set auth.jwksUrl to the JWKS of the identity"
              "service the others should trust.") -}}
{{- end -}}
{{- end -}}


{{/*
(dict "root" $ "name" $name "svc" $svc): the container env entries for the service's database URL
(from an existing Secret, a password Secret, or the chart's dev-only Secret). API pod and relay alike.
*/}}
{{- define "tanso.databaseEnv" -}}
{{- $db := .svc.database | default dict -}}
{{- if include "tanso.usesDatabase" . }}
{{- if $db.existingSecret }}
- name: {{ include "tanso.envPrefix" .name }}DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $db.existingSecret }}
      key: {{ $db.urlSecretKey }}
{{- else if and $db.passwordSecret $db.passwordSecret.name }}
# Not a setting: expanded by the kubelet into the URL below ($(VAR) needs it first).
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $db.passwordSecret.name }}
      key: {{ $db.passwordSecret.key }}
- name: {{ include "tanso.envPrefix" .name }}DATABASE__URL
  value: {{ include "tanso.databaseUrl" (dict "root" .root "svc" .svc "password" "$(DATABASE_PASSWORD)") | quote }}
{{- else }}
- name: {{ include "tanso.envPrefix" .name }}DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tanso.databaseSecretName" . }}
      key: url
{{- end }}
{{- end }}
{{- end -}}

{{/*
(dict "root" $ "deployment" <Deployment name>): OpenTelemetry's variables, the same on every pod
(values `telemetry`). service.name stays tanso-<service> (set by the code); the k8s.* resource
attributes tell the pods, and a service's API pods from its relay, apart.
*/}}
{{- define "tanso.telemetryEnv" -}}
{{- $telemetry := .root.Values.telemetry -}}
{{- $attributes := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" (printf "k8s.deployment.name=%s" .deployment) -}}
{{- range $key, $value := $telemetry.resourceAttributes -}}
{{- $attributes = append $attributes (printf "%s=%v" $key $value) -}}
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef: {fieldPath: metadata.namespace}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
{{- with $telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- range $key, $value := $telemetry.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}
