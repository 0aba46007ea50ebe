export {
  daysLeft,
  type ExtKeyUsage,
  generateRsaKeyPem,
  generateRsaKeyPemAsync,
  type HostIdentity,
  issueCa,
  type IssueCaOptions,
  issueClientCert,
  type IssueClientCertOptions,
  issueNodeCert,
  type IssueNodeCertOptions,
  type KeyAndCert,
  keyMatchesCert,
  needsReissue,
  type NeedsReissueOptions,
  nodeSans,
  type RandomBytes,
  REISSUE_WINDOW_DAYS,
  type SubjectAltNames,
} from './certs.js';
export { type EnsurePkiOptions, ensureClusterPki, type PkiReport, readClusterPki } from './store.js';
export { ensureSshKey, generateEd25519OpenSsh, type OpenSshKeyPair, publicKeyOfPrivate, type SshKeyInfo } from './sshkey.js';
