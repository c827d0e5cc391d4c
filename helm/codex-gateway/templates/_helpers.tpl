{{- define "cg.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "cg.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "cg.secretName" -}}{{ .Values.existingSecret | default (include "cg.fullname" .) }}{{- end -}}
{{- define "cg.env" -}}
- name: NODE_ENV
  value: production
{{- range $k, $v := .Values.config }}
{{- if $v }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end -}}
