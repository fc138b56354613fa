{{- define "graybot.name" -}}graybot{{- end -}}

{{- define "graybot.labels" -}}
app.kubernetes.io/name: graybot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: graybot
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "graybot.selector" -}}
app.kubernetes.io/name: graybot
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* A ClusterRole bound in each namespace graybot releases in: (root, role name, namespaces) */}}
{{- define "graybot.bindings" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
{{- range index . 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $role }}
  namespace: {{ . }}
  labels:
    {{- include "graybot.labels" $root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $role }}
subjects:
  - kind: ServiceAccount
    name: graybot
    namespace: {{ $root.Release.Namespace }}
{{- end }}
{{- end -}}
