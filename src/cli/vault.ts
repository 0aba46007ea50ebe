import type { Command } from 'commander';

export function registerVault(program: Command): void {
  const vault = program
    .command('vault')
    .description('encrypt the secret files of a cluster directory at rest (passwords, private keys), or decrypt them');
  vault
    .command('encrypt')
    .description('encrypt every secret file of DIR and keep new ones encrypted (needs the vault password)')
    .argument('<dir>', 'cluster directory')
    .action(async (dir: string) => {
      const { vaultEncrypt, formatRun } = await import('../app/vault.js');
      process.stdout.write(`${formatRun('encrypted', await vaultEncrypt(dir))}\n`);
    });
  vault
    .command('decrypt')
    .description('decrypt every secret file of DIR and turn the vault off (needs the vault password)')
    .argument('<dir>', 'cluster directory')
    .action(async (dir: string) => {
      const { vaultDecrypt, formatRun } = await import('../app/vault.js');
      process.stdout.write(`${formatRun('decrypted', await vaultDecrypt(dir))}\n`);
    });
  vault
    .command('status')
    .description('whether DIR is in vault mode, and each secret file encrypted or plain (needs no password)')
    .argument('<dir>', 'cluster directory')
    .action(async (dir: string) => {
      const { vaultStatus } = await import('../app/vault.js');
      process.stdout.write(`${await vaultStatus(dir)}\n`);
    });
}
