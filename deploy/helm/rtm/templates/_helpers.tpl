{{/* Names and labels. */}}
{{- define "rtm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rtm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Values.role .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Values.role | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "rtm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rtm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.role }}
{{- end }}

{{- define "rtm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "rtm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rtm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "rtm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rtm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The role, checked: anything else stops the render. */}}
{{- define "rtm.role" -}}
{{- if not (has .Values.role (list "runtime-manager" "application-manager")) }}
{{- fail (printf "role must be runtime-manager or application-manager, not %q" .Values.role) }}
{{- end }}
{{- .Values.role }}
{{- end }}
