{{- define "meetcoord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "meetcoord.fullname" -}}
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

{{- define "meetcoord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meetcoord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meetcoord.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "meetcoord.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "meetcoord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "meetcoord.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret a secret setting is read from: its own existingSecret, else the chart's. */}}
{{- define "meetcoord.secretName" -}}
{{- $root := index . 0 }}{{ $own := index . 1 }}
{{- default (default (include "meetcoord.fullname" $root) $root.Values.existingSecret) $own }}
{{- end }}

{{/* One env entry read from a Secret: (list root name secretName key). */}}
{{- define "meetcoord.secretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "meetcoord.secretName" (list (index . 0) (index . 2)) }}
      key: {{ index . 3 }}
{{- end }}

{{- define "meetcoord.validate" -}}
{{- $provider := .Values.cluster.provider }}
{{- if not (has $provider (list "k8s" "etcd" "none")) }}
{{- fail (printf "cluster.provider %q is not supported by the chart (k8s, etcd or none)" $provider) }}
{{- end }}
{{- if and (eq $provider "none") (gt (int .Values.replicaCount) 1) }}
{{- fail "cluster.provider none runs one node: set replicaCount to 1 or choose k8s or etcd" }}
{{- end }}
{{- if and (eq $provider "etcd") (empty .Values.cluster.etcdEndpoints) }}
{{- fail "cluster.provider etcd needs cluster.etcdEndpoints" }}
{{- end }}
{{- end }}
