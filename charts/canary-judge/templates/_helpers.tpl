{{/* The chart's name (nameOverride wins). */}}
{{- define "canary-judge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: the release name, with the chart's name appended unless it is in it. */}}
{{- define "canary-judge.fullname" -}}
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

{{/* What the judge's pods are selected by. */}}
{{- define "canary-judge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "canary-judge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "canary-judge.labels" -}}
{{ include "canary-judge.selectorLabels" . }}
app.kubernetes.io/part-of: canary-judge
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- if .Values.helmLabels }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}
{{- end }}

{{- define "canary-judge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "canary-judge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The judge's image: repository@digest when a digest is set, else repository:tag (appVersion by default). */}}
{{- define "canary-judge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding the judge's token: auth.existingSecret, or the chart's canary-judge-token. */}}
{{- define "canary-judge.authSecret" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- print "canary-judge-token" }}
{{- end }}
{{- end }}

{{/* The base URL the web ClusterAnalysisTemplates call. */}}
{{- define "canary-judge.judgeUrl" -}}
{{- if .Values.analysisTemplates.judgeUrl }}
{{- .Values.analysisTemplates.judgeUrl | trimSuffix "/" }}
{{- else }}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "canary-judge.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
{{- end }}
