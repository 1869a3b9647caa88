{{/*
One `- name: X / value: Y` entry, or nothing when the value is empty or unset (rtm's default
then applies). Called with (list "NAME" value).
*/}}
{{- define "rtm.envEntry" -}}
{{- $name := index . 0 }}
{{- $value := include "rtm.envValue" (index . 1) }}
{{- if ne $value "" }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/*
A value as the variable's text. Helm reads the numbers of values.yaml as floats, which print
as 1.048576e+08: whole numbers are printed as integers.
*/}}
{{- define "rtm.envValue" -}}
{{- if kindIs "invalid" . }}
{{- else if and (kindIs "float64" .) (eq (floor .) .) }}
{{- printf "%d" (int64 .) }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
The container's environment: the role, the ports, every structured value of `config`, the
secret variables from secrets.existingSecret, then `env` and `extraEnv`. Shared by the
Deployment and the migration Job. Called with (dict "root" $ "migrateOnStart" bool).
*/}}
{{- define "rtm.env" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $c := $v.config -}}
- name: SPRING_APPLICATION_NAME
  value: {{ include "rtm.role" $root | quote }}
- name: RTM_MIGRATE_ON_START
  value: {{ .migrateOnStart | toString | quote }}
- name: RTM_DATA_DIR
  value: /tmp/rtm
{{- include "rtm.envEntry" (list "SERVER_ADDRESS" $v.server.address) }}
{{- include "rtm.envEntry" (list "SERVER_PORT" $v.server.port) }}
{{- include "rtm.envEntry" (list "MANAGEMENT_SERVER_PORT" $v.server.managementPort) }}
{{- include "rtm.envEntry" (list "RTM_SHUTDOWN_TIMEOUT_SECONDS" $v.server.shutdownTimeoutSeconds) }}
{{- include "rtm.envEntry" (list "CONFIG_PROFILE" $c.profile) }}
{{- include "rtm.envEntry" (list "SPRING_DATASOURCE_URL" $c.postgres.url) }}
{{- include "rtm.envEntry" (list "SPRING_DATASOURCE_USERNAME" $c.postgres.username) }}
{{- include "rtm.envEntry" (list "RTM_DATASOURCE_MAX_POOL_SIZE" $c.postgres.maxPoolSize) }}
{{- include "rtm.envEntry" (list "SPRING_DATA_MONGODB_URI" $c.mongodb.uri) }}
{{- include "rtm.envEntry" (list "DB_USERNAME" $c.mongodb.username) }}
{{- include "rtm.envEntry" (list "DB_NAME" $c.mongodb.database) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_BOOTSTRAP_SERVERS" $c.kafka.bootstrapServers) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_SECURITY_PROTOCOL" $c.kafka.securityProtocol) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION" $c.kafka.ssl.trustStoreLocation) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_SSL_TRUST_STORE_TYPE" $c.kafka.ssl.trustStoreType) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_SSL_KEY_STORE_LOCATION" $c.kafka.ssl.keyStoreLocation) }}
{{- include "rtm.envEntry" (list "SPRING_KAFKA_SSL_KEY_STORE_TYPE" $c.kafka.ssl.keyStoreType) }}
{{- include "rtm.envEntry" (list "KAFKA_OAUTH_TOKEN_ENDPOINT_URI" $c.kafka.oauth.tokenEndpointUri) }}
{{- include "rtm.envEntry" (list "KAFKA_OAUTH_CLIENT_ID" $c.kafka.oauth.clientId) }}
{{- include "rtm.envEntry" (list "KAFKA_TOPIC_NAMING_PACKAGE" $c.kafka.topicNaming.package) }}
{{- include "rtm.envEntry" (list "KAFKA_TOPIC_NAMING_ENVIRONMENT" $c.kafka.topicNaming.environment) }}
{{- include "rtm.envEntry" (list "KAFKA_TOPIC_NAMING_VERSION" $c.kafka.topicNaming.version) }}
{{- include "rtm.envEntry" (list "KAFKA_CONSUMER_GROUPID_PROCESS_START" $c.kafka.processStartGroupId) }}
{{- include "rtm.envEntry" (list "RTM_START_BY_NAME_RETRY_SECONDS" $c.kafka.startByNameRetrySeconds) }}
{{- include "rtm.envEntry" (list "ORGANIZATION_ID" $c.kafka.organizationId) }}
{{- include "rtm.envEntry" (list "APPLICATION_FILE_STORAGE_S3_SERVER_URL" $c.s3.serverUrl) }}
{{- include "rtm.envEntry" (list "APPLICATION_FILE_STORAGE_S3_BUCKET_PREFIX" $c.s3.bucketPrefix) }}
{{- include "rtm.envEntry" (list "RTM_S3_CA_FILE" $c.s3.caFile) }}
{{- include "rtm.envEntry" (list "SECURITY_OAUTH2_BASE_SERVER_URL" $c.oauth2.baseServerUrl) }}
{{- include "rtm.envEntry" (list "SECURITY_OAUTH2_REALM" $c.oauth2.realm) }}
{{- include "rtm.envEntry" (list "SECURITY_OAUTH2_CLIENT_CLIENT_ID" $c.oauth2.clientId) }}
{{- include "rtm.envEntry" (list "RTM_OAUTH2_AUDIENCE" $c.oauth2.audience) }}
{{- include "rtm.envEntry" (list "RTM_JWKS_REFRESH_SECONDS" $c.oauth2.jwksRefreshSeconds) }}
{{- include "rtm.envEntry" (list "RTM_TOKEN_CACHE_SECONDS" $c.oauth2.tokenCacheSeconds) }}
{{- include "rtm.envEntry" (list "RTM_SERVICE_ACCOUNT_CLIENTS" $c.oauth2.serviceAccountClients) }}
{{- include "rtm.envEntry" (list "SPRING_REDIS_HOST" $c.redis.host) }}
{{- include "rtm.envEntry" (list "SPRING_REDIS_PORT" $c.redis.port) }}
{{- include "rtm.envEntry" (list "SPRING_REDIS_TTL" $c.redis.ttl) }}
{{- include "rtm.envEntry" (list "RTM_REDIS_KEY_PREFIX" $c.redis.keyPrefix) }}
{{- include "rtm.envEntry" (list "SPRING_REDIS_SSL_ENABLED" $c.redis.sslEnabled) }}
{{- include "rtm.envEntry" (list "RTM_REDIS_SSL_CA_FILE" $c.redis.sslCaFile) }}
{{- include "rtm.envEntry" (list "RTM_NEAR_CACHE_MAX_MB" $c.nearCache.maxMb) }}
{{- include "rtm.envEntry" (list "RTM_NEAR_CACHE_TTL_SECONDS" $c.nearCache.ttlSeconds) }}
{{- include "rtm.envEntry" (list "RTM_PROCESS_ENGINE_URL" $c.processEngine.url) }}
{{- include "rtm.envEntry" (list "RTM_PROCESS_ENGINE_TIMEOUT_SECONDS" $c.processEngine.timeoutSeconds) }}
{{- include "rtm.envEntry" (list "RTM_CORS_ALLOWED_ORIGINS" $c.cors.allowedOrigins) }}
{{- include "rtm.envEntry" (list "LOGGING_LEVEL_ROOT" $c.logging.levelRoot) }}
{{- include "rtm.envEntry" (list "LOGGING_LEVEL_APP" $c.logging.levelApp) }}
{{- include "rtm.envEntry" (list "LOGGING_LEVEL_DB" $c.logging.levelDb) }}
{{- include "rtm.envEntry" (list "RTM_LOG_FORMAT" $c.logging.format) }}
{{- include "rtm.envEntry" (list "RUST_LOG" $c.logging.rustLog) }}
{{- include "rtm.envEntry" (list "LOGGING_CONFIG_FILE" $c.logging.configFile) }}
{{- include "rtm.envEntry" (list "RTM_IMPORT_MAX_ARCHIVE_BYTES" $c.import.maxArchiveBytes) }}
{{- include "rtm.envEntry" (list "RTM_IMPORT_MAX_ENTRIES" $c.import.maxEntries) }}
{{- include "rtm.envEntry" (list "RTM_IMPORT_MAX_INFLATED_BYTES" $c.import.maxInflatedBytes) }}
{{- include "rtm.envEntry" (list "RTM_IMPORT_MAX_COMPRESSION_RATIO" $c.import.maxCompressionRatio) }}
{{- include "rtm.envEntry" (list "RTM_IMPORT_LEASE_SECONDS" $c.import.leaseSeconds) }}
{{- include "rtm.envEntry" (list "MULTIPART_MAX_FILE_SIZE" $c.import.multipartMaxFileSize) }}
{{- with $v.secrets.existingSecret }}
{{- range $variable, $key := $v.secrets.keys }}
{{- if $key }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $value := $v.env }}
- name: {{ $name }}
  value: {{ include "rtm.envValue" $value | quote }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
