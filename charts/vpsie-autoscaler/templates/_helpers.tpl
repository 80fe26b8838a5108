{{/* Names and labels shared by every template. */}}

{{- define "vpsie-autoscaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vpsie-autoscaler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "vpsie-autoscaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vpsie-autoscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vpsie-autoscaler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vpsie-autoscaler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: autoscaler
{{- end }}

{{- define "vpsie-autoscaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vpsie-autoscaler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ClusterRole and ClusterRoleBinding: cluster-scoped, so the release namespace is in the name. */}}
{{- define "vpsie-autoscaler.clusterRoleName" -}}
{{- printf "%s-%s" (include "vpsie-autoscaler.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vpsie-autoscaler.priorityClassName" -}}
{{- if .Values.priorityClass.create }}
{{- default (include "vpsie-autoscaler.fullname" .) .Values.priorityClass.name }}
{{- else }}
{{- .Values.priorityClassName }}
{{- end }}
{{- end }}

{{/*
Checks that a schema cannot express: they stop the render with one clear line.
*/}}
{{- define "vpsie-autoscaler.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "leaderElection.enabled=false with replicaCount=%d: every replica would act; keep leader election on or run one replica" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq .Values.vpsie.mode "vke") (not .Values.vpsie.clusterIdentifier) }}
{{- fail "vpsie.clusterIdentifier is required in vke mode: the identifier (UUID) of the VKE cluster to scale" }}
{{- end }}
{{- $server := default dict .Values.settings.server }}
{{- $shutdown := float64 (default 10 $server.shutdown_timeout_s) }}
{{- if le (float64 .Values.terminationGracePeriodSeconds) $shutdown }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be longer than settings.server.shutdown_timeout_s (%v), or the kubelet kills the daemon before it has released its Lease" .Values.terminationGracePeriodSeconds $shutdown) }}
{{- end }}
{{- end }}

{{/* A settings value as an environment variable's string (integers without an exponent). */}}
{{- define "vpsie-autoscaler.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}
{{- printf "%.0f" . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* One env entry filled from a key of the credentials Secret. */}}
{{- define "vpsie-autoscaler.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}
