export { agentSigningKeyPair, serviceKeyPair, serviceKeysDir, userIssuerKeyPair, type AgentSigningKeyFiles, type KeyPairFiles } from "./key-pairs.js";
export { provisionServices, servicePassword, servicePasswordFile } from "./provision.js";
export { auditTarget, isAudited, type AuditRecord, type AuditSink } from "./audit.js";
export { authorize, kPrincipal, principalName, signServiceToken, signToken, signTokenWithKey, verifyToken, TokenError, TokenVerifier, type Decision, type Principal, type PrincipalKind, type ProjectRoleName, type PlatformRoleName, type TokenClaims, type TokenSettings } from "./auth.js";
export { bearerAuth, createServiceClient, serviceTokenSource, trustCa, type ClientOptions, type Protocol } from "./clients.js";
export { ConfigError, describeConfig, readConfig, vars, type Config, type ConfigSpec, type Var } from "./config.js";
export {
  AbortedError,
  AlreadyExistsError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
  fieldViolation,
  isNotFound,
  toConnectError,
} from "./errors.js";
export { failpoint } from "./failpoints.js";
export { HealthState, ServingStatus } from "./health.js";
export { groupBy } from "./collections.js";
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, allPages, decodePageKeys, decodePageToken, encodePageToken, listPage, listPageByKeys, page, type Page, type PageKey, type PageRequest } from "./paging.js";
export { compensate, Periodic, SagaSweeper, type SagaState } from "./sagas.js";
export { scopeOf, type Scope } from "./scope.js";
export { codeName, kLogger, kRequestId } from "./interceptors.js";
export { createLogger, type Logger } from "./observability.js";
export { kitConfigSpec, main, schemaOf, serviceConfigSpec, startService, type RunningService, type ServiceContext, type ServiceDefinition, type StartOptions } from "./service.js";
