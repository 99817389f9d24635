{{/*
Named templates of the after-sales chart. Each resource kind is one template here, called once
per enabled service by a one-line file beside this one ("aftersales.eachService"); no manifest
is written twice.

Most templates take a context dict built by "aftersales.eachService":
  root  the chart's top-level context ($)
  name  the service name (intake, claims-review, …, gateway)
  svc   its effective settings: .Values.serviceDefaults with its block under .Values.services
        merged over it (mergeOverwrite: maps merge key by key, lists and plain values replace)
  cat   its entry in "aftersales.catalog"
*/}}

{{/*
The service contract (DESIGN.md §1, §4): ports, and which shared dependency each service uses.
Not values: every pod listens on these ports and the binaries know them. A service key in values
without an entry here is rejected by values.schema.json before rendering.
  grpc          the service serves gRPC on grpcPort
  httpPort      the gateway's public HTTP API (only the gateway has one)
  adminPort     /healthz, /readyz, /metrics: every service, the gateway too, never behind the ingress
  ownsDatabase  has a Postgres database: DATABASE__URL from a Secret and a migration Job
  usesAmqp      talks to RabbitMQ (the gateway reads the event stream for SSE and /board)
  usesRedis     talks to Redis
  usesAuth      verifies bearer JWTs (every service does, DESIGN §7: the gateway forwards the caller's token)
  policyFile    reads a policy file (AFTERSALES__<SERVICE>__POLICY_FILE), mounted from its policy
                ConfigMap: `policies.<service>` in values, or the demo policy in files/<service>-policy.toml
  carrierHooks  receives carrier webhooks: AFTERSALES__GATEWAY__CARRIER_SECRETS__<CARRIER> from a Secret
  photos        keeps fault photos: AFTERSALES__GATEWAY__PHOTOS__* from `photos`, its keys from a Secret
  notifications sends the customers' and branches' messages: AFTERSALES__INTAKE__NOTIFY__* from
                `notifications`, its secrets from a Secret
*/}}
{{- define "aftersales.catalog" -}}
intake:        {grpc: true,  grpcPort: 50051, adminPort: 51051, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: false, carrierHooks: false, photos: false, notifications: true}
claims-review: {grpc: true,  grpcPort: 50052, adminPort: 51052, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: true,  carrierHooks: false, photos: false, notifications: false}
procurement:   {grpc: true,  grpcPort: 50053, adminPort: 51053, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: true,  carrierHooks: false, photos: false, notifications: false}
warehouse:     {grpc: true,  grpcPort: 50054, adminPort: 51054, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: false, carrierHooks: false, photos: false, notifications: false}
logistics:     {grpc: true,  grpcPort: 50055, adminPort: 51055, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: true,  carrierHooks: false, photos: false, notifications: false}
field-service: {grpc: true,  grpcPort: 50056, adminPort: 51056, ownsDatabase: true,  usesAmqp: true, usesRedis: true,  usesAuth: true, policyFile: true,  carrierHooks: false, photos: false, notifications: false}
feedback:      {grpc: true,  grpcPort: 50057, adminPort: 51057, ownsDatabase: true,  usesAmqp: true, usesRedis: false, usesAuth: true, policyFile: true,  carrierHooks: false, photos: false, notifications: false}
gateway:       {grpc: false, grpcPort: 0, httpPort: 8080, adminPort: 8081, ownsDatabase: false, usesAmqp: true, usesRedis: true,  usesAuth: true, policyFile: false, carrierHooks: true, photos: true, notifications: false}
{{- end -}}

{{/*
Renders the named template `template` once per enabled service, as separate YAML documents.
Usage (a whole template file): {{ include "aftersales.eachService" (dict "root" . "template" "aftersales.deployment") }}
*/}}
{{- define "aftersales.eachService" -}}
{{- $root := .root -}}
{{- $template := .template -}}
{{- $catalog := include "aftersales.catalog" $root | fromYaml -}}
{{- range $name, $block := $root.Values.services }}
{{- if $block.enabled }}
{{- $cat := required (printf "services.%s: no such service in the chart's catalog" $name) (get $catalog $name) }}
{{- $svc := mergeOverwrite (deepCopy ($root.Values.serviceDefaults | default dict)) (deepCopy $block) }}
{{- $out := include $template (dict "root" $root "name" $name "svc" $svc "cat" $cat) | trim }}
{{- if $out }}
---
{{ $out }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- names */}}

{{/* The release's prefix for every object name: at most 40 characters, so that
"<prefix>-<service>-migrate" stays within 63. */}}
{{- define "aftersales.prefix" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "aftersales" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-aftersales" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of a service's objects: "<prefix>-<service>". Takes (dict "root" $ "name" NAME). */}}
{{- define "aftersales.name" -}}
{{- printf "%s-%s" (include "aftersales.prefix" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ---------------------------------------------------------------- labels */}}

{{- define "aftersales.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "aftersales.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "aftersales.selectorLabels" . }}
app.kubernetes.io/part-of: aftersales
app.kubernetes.io/version: {{ include "aftersales.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* The migration Job's pods: the same service, another component, so that no Service selects
them and no service NetworkPolicy applies to them. */}}
{{- define "aftersales.migrationLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: migration
app.kubernetes.io/part-of: aftersales
app.kubernetes.io/version: {{ include "aftersales.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* ---------------------------------------------------------------- image */}}

{{- define "aftersales.imageTag" -}}
{{- .svc.image.tag | default .root.Chart.AppVersion -}}
{{- end -}}

{{- define "aftersales.image" -}}
{{- $registry := .root.Values.imageRegistry | trimSuffix "/" -}}
{{- $repository := .svc.image.repository -}}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $repository }}{{ end -}}
{{- if .svc.image.digest -}}
{{- printf "%s@%s" $repository .svc.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (include "aftersales.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- environment */}}

{{/* Non-secret environment as a YAML map (name → string): the ConfigMap's data, and the
migration Job's env (the Job runs before the ConfigMap exists on a first install). Values'
`env` wins over the chart's defaults. */}}
{{- define "aftersales.configEnv" -}}
{{- $root := .root -}}
{{- $env := dict -}}
{{- $_ := set $env "AFTERSALES__SERVER__ADMIN_ADDR" (printf "0.0.0.0:%d" (int .cat.adminPort)) -}}
{{- if .cat.grpc -}}
{{- $_ := set $env "AFTERSALES__SERVER__GRPC_ADDR" (printf "0.0.0.0:%d" (int .cat.grpcPort)) -}}
{{- else -}}
{{- $_ := set $env "AFTERSALES__SERVER__HTTP_ADDR" (printf "0.0.0.0:%d" (int .cat.httpPort)) -}}
{{- /* The gateway's gRPC peers, enabled or not (it connects lazily). */ -}}
{{- $catalog := include "aftersales.catalog" $root | fromYaml -}}
{{- range $peer, $peerCat := $catalog -}}
{{- if $peerCat.grpc -}}
{{- $key := printf "AFTERSALES__PEERS__%s__URL" ($peer | upper | replace "-" "_") -}}
{{- $_ := set $env $key (printf "http://%s:%d" (include "aftersales.name" (dict "root" $root "name" $peer)) (int $peerCat.grpcPort)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if .cat.photos -}}
{{- $photos := $root.Values.photos -}}
{{- $_ := set $env "AFTERSALES__GATEWAY__PHOTOS__BACKEND" $photos.backend -}}
{{- $_ := set $env "AFTERSALES__GATEWAY__PHOTOS__BUCKET" $photos.bucket -}}
{{- $_ := set $env "AFTERSALES__GATEWAY__PHOTOS__REGION" $photos.region -}}
{{- $_ := set $env "AFTERSALES__GATEWAY__PHOTOS__ENDPOINT" $photos.endpoint -}}
{{- $_ := set $env "AFTERSALES__GATEWAY__PHOTOS__URL_TTL_SECS" (toString (int64 $photos.urlTtlSecs)) -}}
{{- end -}}
{{- if .cat.notifications -}}
{{- $n := $root.Values.notifications -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__SMTP_URL" $n.smtpUrl -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__SMTP_USERNAME" $n.smtpUsername -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__EMAIL_FROM" $n.emailFrom -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__SMS_PROVIDER" $n.smsProvider -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__SMS_URL" $n.smsUrl -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__WEBHOOKS" $n.webhooks -}}
{{- $_ := set $env "AFTERSALES__INTAKE__NOTIFY__QUIET_HOURS" $n.quietHours -}}
{{- end -}}
{{- $_ := set $env "OTEL_SERVICE_NAME" .name -}}
{{- /* OTLP/gRPC is the only protocol the binaries export with: no OTEL_EXPORTER_OTLP_PROTOCOL. */ -}}
{{- with $root.Values.otel.endpoint -}}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" . -}}
{{- end -}}
{{- if .cat.usesAuth -}}
{{- $auth := $root.Values.auth -}}
{{- if eq $auth.mode "jwks" -}}
{{- $_ := set $env "AFTERSALES__AUTH__JWKS_URL" (required "auth.jwks.url is required with auth.mode=jwks" $auth.jwks.url) -}}
{{- $_ := set $env "AFTERSALES__AUTH__JWKS_REFRESH_SECS" (toString (int $auth.jwks.refreshSecs)) -}}
{{- else if eq $auth.mode "pem" -}}
{{- $_ := set $env "AFTERSALES__AUTH__JWT_PUBLIC_KEY_FILE" (include "aftersales.publicKeyPath" $root) -}}
{{- end -}}
{{- with $auth.issuer }}{{ $_ := set $env "AFTERSALES__AUTH__ISSUER" . }}{{ end -}}
{{- with $auth.audience }}{{ $_ := set $env "AFTERSALES__AUTH__AUDIENCE" . }}{{ end -}}
{{- end -}}
{{- $attrs := list "service.namespace=aftersales" (printf "service.version=%s" (include "aftersales.imageTag" .)) (printf "k8s.namespace.name=%s" $root.Release.Namespace) -}}
{{- with $root.Values.otel.environment }}{{ $attrs = append $attrs (printf "deployment.environment.name=%s" .) }}{{ end -}}
{{- with $root.Values.otel.resourceAttributes }}{{ $attrs = append $attrs . }}{{ end -}}
{{- $_ := set $env "OTEL_RESOURCE_ATTRIBUTES" (join "," $attrs) -}}
{{- /* The service's own settings (`services.<name>.settings`): each key is the variable
AFTERSALES__<SERVICE>__<KEY in snake case>, e.g. logistics' carrierOverride is
AFTERSALES__LOGISTICS__CARRIER_OVERRIDE. Numbers are written as integers (values files give
them as floats). Setting one in `env` as well is refused: one place per setting. */ -}}
{{- $userEnv := .svc.env | default dict -}}
{{- range $key, $value := .svc.settings | default dict -}}
{{- $var := printf "AFTERSALES__%s__%s" (include "aftersales.section" $.name) ($key | snakecase | upper) -}}
{{- if hasKey $userEnv $var -}}
{{- fail (printf "services.%s: %s is set both as settings.%s and in env; set it in one place (settings)" $.name $var $key) -}}
{{- end -}}
{{- if or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) -}}
{{- $_ := set $env $var (toString (int64 $value)) -}}
{{- else -}}
{{- $_ := set $env $var (toString $value) -}}
{{- end -}}
{{- end -}}
{{- toYaml (merge (deepCopy $userEnv) $env) -}}
{{- end -}}

{{/* A service's section in its variables' names: AFTERSALES__<section>__… (field-service →
FIELD_SERVICE). Takes the service name. */}}
{{- define "aftersales.section" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}

{{/* Secret environment: EnvVars reading existing Secrets, never values. */}}
{{- define "aftersales.secretEnv" -}}
{{- $values := .root.Values -}}
{{- if .cat.ownsDatabase }}
- name: AFTERSALES__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "services.%s.database.existingSecret: %s owns a database; name the Secret holding its URL" .name .name) .svc.database.existingSecret }}
      key: {{ .svc.database.key }}
{{- else if .svc.database.existingSecret }}
{{- fail (printf "services.%s.database.existingSecret: %s owns no database; leave it empty" .name .name) }}
{{- end }}
{{- if .cat.usesAmqp }}
- name: AFTERSALES__AMQP__URL
  valueFrom:
    secretKeyRef:
      name: {{ $values.amqp.existingSecret }}
      key: {{ $values.amqp.key }}
{{- end }}
{{- if .cat.usesRedis }}
- name: AFTERSALES__REDIS__URL
  valueFrom:
    secretKeyRef:
      name: {{ $values.redis.existingSecret }}
      key: {{ $values.redis.key }}
{{- end }}
{{- if and .cat.usesAuth (eq $values.auth.mode "hs256") }}
- name: AFTERSALES__AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "auth.hs256.existingSecret is required with auth.mode=hs256" $values.auth.hs256.existingSecret }}
      key: {{ $values.auth.hs256.key }}
{{- end }}
{{- if .cat.carrierHooks }}
{{- range $carrier := $values.carriers.names }}
- name: AFTERSALES__GATEWAY__CARRIER_SECRETS__{{ $carrier | upper }}
  valueFrom:
    secretKeyRef:
      name: {{ required "carriers.existingSecret is required when carriers.names is set" $values.carriers.existingSecret }}
      key: {{ $carrier }}
{{- end }}
{{- end }}
{{- if .cat.notifications }}
{{- if and $values.notifications.webhooks (not $values.notifications.existingSecret) }}
{{- fail "notifications.existingSecret is required with notifications.webhooks (its key webhook_secret signs every call)" }}
{{- end }}
{{- with $values.notifications.existingSecret }}
{{- $secret := . }}
{{- range $var, $key := dict "SMTP_PASSWORD" "smtp_password" "SMS_TOKEN" "sms_token" "WEBHOOK_SECRET" "webhook_secret" }}
- name: AFTERSALES__INTAKE__NOTIFY__{{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- end }}
{{- if and .cat.photos $values.photos.existingSecret }}
{{- range $var, $key := dict "ACCESS_KEY_ID" "access_key_id" "SECRET_ACCESS_KEY" "secret_access_key" "SIGNING_SECRET" "signing_secret" }}
- name: AFTERSALES__GATEWAY__PHOTOS__{{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $values.photos.existingSecret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Where files from Secrets and ConfigMaps are mounted (read-only), and the variables naming them. */}}
{{- define "aftersales.publicKeyPath" -}}/etc/aftersales/auth/public.pem{{- end -}}
{{- define "aftersales.policyPath" -}}/etc/aftersales/policy/policy.toml{{- end -}}

{{/* A service's policy (catalog: policyFile): `policies.<service>` from the values, or, when
empty, the demo policy the chart carries in files/<service>-policy.toml (a copy of
services/<service>/policy/demo.toml; chart-check fails when the two differ). Takes a service
context. */}}
{{- define "aftersales.policy" -}}
{{- $file := printf "files/%s-policy.toml" .name -}}
{{- $policy := get (.root.Values.policies | default dict) .name | default (.root.Files.Get $file) -}}
{{- required (printf "policies.%s is empty and the chart carries no %s" .name $file) $policy -}}
{{- end -}}

{{/* The variable pointing a policy-reading service at its mounted policy, for the pods that
mount it (.withPolicy: the Deployment and the read-model rebuild). */}}
{{- define "aftersales.policyEnv" -}}
{{- if and .withPolicy .cat.policyFile }}
- name: AFTERSALES__{{ include "aftersales.section" .name }}__POLICY_FILE
  value: {{ include "aftersales.policyPath" .root }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- pod pieces */}}

{{- define "aftersales.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "aftersales.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod's volumes: /tmp (the only writable place), the identity provider's public key
(auth.mode=pem) and, for a Deployment or the read-model rebuild (.withPolicy), the service's
policy. The hook Jobs mount no policy: they run before the release's ConfigMaps exist on a first
install, and none of them evaluates one (without AFTERSALES__<SERVICE>__POLICY_FILE the binary
holds its demo policy). */}}
{{- define "aftersales.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if and .cat.usesAuth (eq .root.Values.auth.mode "pem") }}
- name: auth-public-key
  secret:
    secretName: {{ required "auth.pem.existingSecret is required with auth.mode=pem" .root.Values.auth.pem.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .root.Values.auth.pem.key }}
        path: {{ include "aftersales.publicKeyPath" .root | base }}
{{- end }}
{{- if and .withPolicy .cat.policyFile }}
- name: policy
  configMap:
    name: {{ include "aftersales.name" . }}-policy
    defaultMode: 0440
    items:
      - key: policy.toml
        path: {{ include "aftersales.policyPath" .root | base }}
{{- end }}
{{- end -}}

{{- define "aftersales.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .cat.usesAuth (eq .root.Values.auth.mode "pem") }}
- name: auth-public-key
  mountPath: {{ include "aftersales.publicKeyPath" .root | dir }}
  readOnly: true
{{- end }}
{{- if and .withPolicy .cat.policyFile }}
- name: policy
  mountPath: {{ include "aftersales.policyPath" .root | dir }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Scheduling and priority of a pod (Deployments and Jobs), from the service's settings. */}}
{{- define "aftersales.scheduling" -}}
{{- with .svc.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .svc.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .svc.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .svc.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Liveness asks the gRPC server itself (grpc.health.v1, overall status) on gRPC services,
/healthz on the admin port of the gateway; readiness asks /readyz on the admin port, which
includes the database, the broker, the migrations and every long-running task (DESIGN §4). */}}
{{- define "aftersales.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
{{- if .cat.grpc }}
  grpc:
    port: {{ .cat.grpcPort }}
{{- else }}
  httpGet:
    path: /healthz
    port: admin
{{- end }}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{- define "aftersales.containerPorts" -}}
{{- if .cat.grpc }}
- name: grpc
  containerPort: {{ .cat.grpcPort }}
  protocol: TCP
{{- else }}
- name: http
  containerPort: {{ .cat.httpPort }}
  protocol: TCP
{{- end }}
- name: admin
  containerPort: {{ .cat.adminPort }}
  protocol: TCP
{{- end -}}

{{/* ---------------------------------------------------------------- resources */}}

{{- define "aftersales.deployment" -}}
{{- $grace := int .svc.terminationGracePeriodSeconds -}}
{{- $drain := get (.svc.env | default dict) "AFTERSALES__SERVER__SHUTDOWN_GRACE_MS" | default "10000" | int -}}
{{- if ge $drain (mul $grace 1000) -}}
{{- fail (printf "services.%s: terminationGracePeriodSeconds (%d s) must be longer than the drain after SIGTERM, AFTERSALES__SERVER__SHUTDOWN_GRACE_MS (%d ms)" .name $grace $drain) -}}
{{- end -}}
{{- $ctx := merge (dict "withPolicy" true) . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
spec:
  {{- if not .svc.autoscaling.enabled }}
  replicas: {{ .svc.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "aftersales.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "aftersales.podLabels" . | nindent 8 }}
      annotations:
        {{- with .svc.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        checksum/config: {{ include "aftersales.configEnv" . | sha256sum }}
        {{- if .cat.policyFile }}
        checksum/policy: {{ include "aftersales.policy" . | sha256sum }}
        {{- end }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .cat.adminPort | quote }}
        prometheus.io/path: /metrics
    spec:
      serviceAccountName: {{ include "aftersales.name" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with .root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "aftersales.podSecurityContext" . | nindent 8 }}
      terminationGracePeriodSeconds: {{ $grace }}
      {{- include "aftersales.scheduling" . | nindent 6 }}
      topologySpreadConstraints:
        {{- if .svc.topologySpreadConstraints }}
        {{- toYaml .svc.topologySpreadConstraints | nindent 8 }}
        {{- else }}
        {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
        - maxSkew: 1
          topologyKey: {{ $key }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "aftersales.selectorLabels" $ | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
        {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "aftersales.image" . }}
          imagePullPolicy: {{ .svc.image.pullPolicy }}
          command: ["/usr/local/bin/{{ .name }}"]
          args: ["serve"]
          ports:
            {{- include "aftersales.containerPorts" . | trim | nindent 12 }}
          envFrom:
            - configMapRef:
                name: {{ include "aftersales.name" . }}
          env:
            {{- include "aftersales.secretEnv" . | trim | nindent 12 }}
            {{- include "aftersales.policyEnv" $ctx | nindent 12 }}
          {{- include "aftersales.probes" . | nindent 10 }}
          resources:
            {{- toYaml .svc.resources | nindent 12 }}
          securityContext:
            {{- include "aftersales.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "aftersales.volumeMounts" $ctx | nindent 12 }}
      volumes:
        {{- include "aftersales.volumes" $ctx | nindent 8 }}
{{- end -}}

{{/* A pod's labels: the extra ones first, so the chart's own win. */}}
{{- define "aftersales.podLabels" -}}
{{- $labels := include "aftersales.labels" . | fromYaml -}}
{{- toYaml (merge $labels (.svc.podLabels | default dict)) -}}
{{- end -}}

{{- define "aftersales.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "aftersales.selectorLabels" . | nindent 4 }}
  ports:
    {{- if .cat.grpc }}
    - name: grpc
      port: {{ .cat.grpcPort }}
      targetPort: grpc
      protocol: TCP
      appProtocol: kubernetes.io/h2c
    {{- else }}
    - name: http
      port: {{ .cat.httpPort }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- end }}
    - name: admin
      port: {{ .cat.adminPort }}
      targetPort: admin
      protocol: TCP
      appProtocol: http
{{- end -}}

{{- define "aftersales.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
data:
  {{- include "aftersales.configEnv" . | nindent 2 }}
{{- end -}}

{{- define "aftersales.serviceaccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
  {{- with (.svc.serviceAccount | default dict).annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}

{{- define "aftersales.hpa" -}}
{{- $as := .svc.autoscaling -}}
{{- if $as.enabled -}}
{{- if gt (int $as.minReplicas) (int $as.maxReplicas) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas %d is above maxReplicas %d" .name (int $as.minReplicas) (int $as.maxReplicas)) -}}
{{- end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "aftersales.name" . }}
  minReplicas: {{ $as.minReplicas }}
  maxReplicas: {{ $as.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $as.targetCPUUtilizationPercentage }}
    {{- with $as.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end -}}
{{- end -}}

{{- define "aftersales.pdb" -}}
{{- $pdb := .svc.podDisruptionBudget -}}
{{- if $pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" $pdb.minAvailable) }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $pdb.maxUnavailable | default 1 }}
  {{- end }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "aftersales.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{/* One egress rule: (dict "peer" .Values.networkPolicies.egress.X "protocols" (list "TCP")).
An empty `to` allows any destination on that port. */}}
{{- define "aftersales.egressRule" -}}
- ports:
    {{- range .protocols }}
    - protocol: {{ . }}
      port: {{ $.peer.port }}
    {{- end }}
  {{- with .peer.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{- define "aftersales.networkpolicy" -}}
{{- $np := .root.Values.networkPolicies -}}
{{- if $np.enabled -}}
{{- $root := .root -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "aftersales.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    {{- if .cat.grpc }}
    # gRPC: only the gateway calls the services; they talk to each other through RabbitMQ.
    - ports:
        - protocol: TCP
          port: {{ .cat.grpcPort }}
      from:
        - podSelector:
            matchLabels:
              {{- include "aftersales.selectorLabels" (dict "root" $root "name" "gateway") | nindent 14 }}
    # Admin HTTP: the metrics scrapers.
    - ports:
        - protocol: TCP
          port: {{ .cat.adminPort }}
      {{- with $np.metricsScrapers }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- else }}
    # The front door: the ingress controller (or anyone when gatewayFrom is empty).
    - ports:
        - protocol: TCP
          port: {{ .cat.httpPort }}
      {{- with $np.gatewayFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    # Admin HTTP: the metrics scrapers only, never the ingress.
    - ports:
        - protocol: TCP
          port: {{ .cat.adminPort }}
      {{- with $np.metricsScrapers }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
  egress:
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.dns "protocols" (list "UDP" "TCP")) | nindent 4 }}
    {{- if .cat.ownsDatabase }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.postgres "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if .cat.usesAmqp }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.rabbitmq "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if .cat.usesRedis }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.redis "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if .root.Values.otel.endpoint }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.otlp "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if and .cat.usesAuth (eq .root.Values.auth.mode "jwks") }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.identityProvider "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if and .cat.photos (eq .root.Values.photos.backend "s3") }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.objectStorage "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if and .cat.notifications .root.Values.notifications.smtpUrl }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.smtp "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if and .cat.notifications (or .root.Values.notifications.webhooks (eq .root.Values.notifications.smsProvider "http")) }}
    {{- include "aftersales.egressRule" (dict "peer" $np.egress.notificationHttps "protocols" (list "TCP")) | nindent 4 }}
    {{- end }}
    {{- if not .cat.grpc }}
    {{- /* The gateway calls every enabled service's gRPC port. */}}
    {{- $catalog := include "aftersales.catalog" $root | fromYaml }}
    {{- range $peer, $peerSvc := $root.Values.services }}
    {{- $peerCat := get $catalog $peer }}
    {{- if and $peerSvc.enabled $peerCat.grpc }}
    - ports:
        - protocol: TCP
          port: {{ $peerCat.grpcPort }}
      to:
        - podSelector:
            matchLabels:
              {{- include "aftersales.selectorLabels" (dict "root" $root "name" $peer) | nindent 14 }}
    {{- end }}
    {{- end }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/* A pre-install / pre-upgrade hook running "<service> migrate" for a service that owns a
database. It runs before the release's other objects exist on a first install, so it uses the
namespace's default ServiceAccount (without a token) and carries its environment inline rather
than through the ConfigMap. */}}
{{/* A one-shot run of a service binary with the service's own environment (config and
Secrets): the migration Job, the topology Job, a DLQ replay. Extra keys in the context:
jobName, component, container, args (a list), hooks (helm hook list or ""), weight. */}}
{{- define "aftersales.toolJob" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .jobName }}
  labels:
    {{- include "aftersales.migrationLabels" . | replace "component: migration" (printf "component: %s" .component) | nindent 4 }}
  {{- if .hooks }}
  annotations:
    helm.sh/hook: {{ .hooks }}
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
  {{- end }}
spec:
  backoffLimit: 4
  activeDeadlineSeconds: 600
  {{- if not .hooks }}
  ttlSecondsAfterFinished: 86400
  {{- end }}
  template:
    metadata:
      labels:
        {{- $labels := include "aftersales.migrationLabels" . | replace "component: migration" (printf "component: %s" .component) | fromYaml }}
        {{- toYaml (merge $labels (.svc.podLabels | default dict)) | nindent 8 }}
      {{- with .svc.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with .root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "aftersales.podSecurityContext" . | nindent 8 }}
      {{- include "aftersales.scheduling" . | nindent 6 }}
      containers:
        - name: {{ .container }}
          image: {{ include "aftersales.image" . }}
          imagePullPolicy: {{ .svc.image.pullPolicy }}
          command: ["/usr/local/bin/{{ .name }}"]
          args: {{ toJson .args }}
          env:
            {{- range $key, $value := include "aftersales.configEnv" . | fromYaml }}
            - name: {{ $key }}
              value: {{ $value | quote }}
            {{- end }}
            {{- include "aftersales.secretEnv" . | trim | nindent 12 }}
            {{- include "aftersales.policyEnv" . | nindent 12 }}
          resources:
            {{- toYaml .svc.resources | nindent 12 }}
          securityContext:
            {{- include "aftersales.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "aftersales.volumeMounts" . | nindent 12 }}
      volumes:
        {{- include "aftersales.volumes" . | nindent 8 }}
{{- end -}}

{{- define "aftersales.migrationJob" -}}
{{- if .cat.ownsDatabase -}}
{{- include "aftersales.toolJob" (merge (dict "jobName" (printf "%s-migrate" (include "aftersales.name" .)) "component" "migration" "container" "migrate" "args" (list "migrate") "hooks" "pre-install,pre-upgrade" "weight" "0") .) }}
{{- end -}}
{{- end -}}

{{/* The context of one service by name, as "aftersales.eachService" builds it. */}}
{{- define "aftersales.serviceContext" -}}
{{- $catalog := include "aftersales.catalog" .root | fromYaml -}}
{{- $svc := mergeOverwrite (deepCopy (.root.Values.serviceDefaults | default dict)) (deepCopy (index .root.Values.services .name)) -}}
{{- toJson (dict "name" .name "svc" $svc "cat" (index $catalog .name)) -}}
{{- end -}}

{{/* The gateway's Ingress; other services are never exposed. */}}
{{- define "aftersales.ingress" -}}
{{- $ing := .root.Values.ingress -}}
{{- if and $ing.enabled (not .cat.grpc) -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
  {{- with $ing.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ing.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with $ing.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    - host: {{ required "ingress.host is required when ingress.enabled" $ing.host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "aftersales.name" . }}
                port:
                  name: http
{{- end -}}
{{- end -}}

{{/* A service's policy file (catalog: policyFile), mounted by its Deployment ("aftersales.volumes"). */}}
{{- define "aftersales.policyConfigMap" -}}
{{- if .cat.policyFile -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "aftersales.name" . }}-policy
  labels:
    {{- include "aftersales.labels" . | replace "component: server" "component: policy" | nindent 4 }}
data:
  policy.toml: |
    {{- include "aftersales.policy" . | trimSuffix "\n" | nindent 4 }}
{{- end -}}
{{- end -}}

{{/* A Prometheus Operator ServiceMonitor for the admin port's /metrics, when enabled. */}}
{{- define "aftersales.serviceMonitor" -}}
{{- $sm := .svc.serviceMonitor | default dict -}}
{{- if $sm.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "aftersales.name" . }}
  labels:
    {{- include "aftersales.labels" . | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "aftersales.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: admin
      path: /metrics
      scheme: http
      {{- with $sm.interval }}
      interval: {{ . }}
      {{- end }}
      {{- with $sm.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
{{- end -}}
{{- end -}}
