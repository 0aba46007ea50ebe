export { generatePassword, MIN_PASSWORD_LENGTH, PASSWORD_ALPHABET } from './password.js';
export { REDACTED, Redactor } from './redact.js';
export {
  ensureSecrets,
  ETCD_ROOT_SECRET,
  loadSecrets,
  readSecret,
  SECRET_NAME_RE,
  type SecretStore,
  userSecretName,
  validateSecretName,
} from './store.js';
