export { generatePassword, MIN_PASSWORD_LENGTH, PASSWORD_ALPHABET } from './password.js';
export { REDACTED, Redactor } from './redact.js';
export {
  ensureSecrets,
  ETCD_ROOT_SECRET,
  loadSecrets,
  readSecret,
  SECRET_NAME_RE,
  secretNamesFor,
  type SecretStore,
  type SecretUserVar,
  validateSecretName,
} from './store.js';
