/**
 * The commands `pgha upgrade` runs on a host, as data (docs/architecture.md#security-invariants):
 * read versions and running units, install exact versions, restart a daemon onto its new binary.
 */
import { installPackagesCommand } from '../../components/host-commands.js';
import { quote, type Command } from '../../transport/quote.js';

/** A process still running a binary that dpkg has since replaced shows its exe as "(deleted)". */
const RUNS_DELETED_EXE = `runs_deleted_exe() { readlink /proc/"$1"/exe 2>/dev/null | grep -q ' (deleted)$'; }`;

/** statusScript as a command, with its intent. */
export function readVersionsCommand(packages: readonly string[], units: readonly string[]): Command {
  return { script: statusScript(packages, units), intent: { kind: 'read-versions', packages, units } };
}

/** The unit runs and its port accepts connections, on the host's address or on loopback. */
export function portOpenCommand(unit: string, ip: string, port: number): Command {
  return {
    script: `systemctl is-active -q ${quote(unit)} && { timeout 3 bash -c ${quote(`</dev/tcp/${ip}/${port}`)} || timeout 3 bash -c ${quote(`</dev/tcp/127.0.0.1/${port}`)}; }`,
    intent: { kind: 'port-open', unit, port },
  };
}

/** Versions, install times and running units for the given packages and units, one line each. */
export function statusScript(packages: readonly string[], units: readonly string[]): string {
  return `export LC_ALL=C
${RUNS_DELETED_EXE}
for p in ${packages.map(quote).join(' ')}; do
  line=$(dpkg-query -W -f='\${Version}\\t\${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  v=\${line%%$'\\t'*}; st=\${line#*$'\\t'}; [ -n "$line" ] || st=''
  m=0
  for f in /var/lib/dpkg/info/"$p".list /var/lib/dpkg/info/"$p":*.list; do [ -e "$f" ] && m=$(stat -c %Y "$f"); done
  printf 'PKG\\t%s\\t%s\\t%s\\t%s\\n' "$p" "$v" "$st" "$m"
done
for u in ${units.map(quote).join(' ')}; do
  a=$(systemctl is-active "$u" 2>/dev/null || true)
  ts=$(systemctl show -p ActiveEnterTimestamp --value "$u" 2>/dev/null || true)
  e=0; if [ -n "$ts" ]; then e=$(date -d "$ts" +%s 2>/dev/null || echo 0); fi
  pid=$(systemctl show -p MainPID --value "$u" 2>/dev/null || echo 0)
  d=0; if [ "\${pid:-0}" != 0 ] && runs_deleted_exe "$pid"; then d=1; fi
  printf 'UNIT\\t%s\\t%s\\t%s\\t%s\\n' "$u" "$a" "$e" "$d"
done
true
`;
}

/**
 * Restart a daemon onto its newly installed binary. For HAProxy that is a reload, which keeps
 * client sessions: but Debian's ExecReload only sends the master SIGUSR2 and returns, and the
 * master re-executes itself a moment later. So wait, on the host, until the main process no
 * longer runs a deleted binary (30 s at most; the caller checks the outcome).
 */
export function restartOntoNewBinaryCommand(unit: string, how: 'reload-or-restart' | 'restart'): Command {
  return {
    intent: { kind: 'systemctl', op: how === 'restart' ? 'restart' : 'reload', units: [unit] },
    script: `set -e
${RUNS_DELETED_EXE}
systemctl ${how} ${quote(unit)}
pid=$(systemctl show -p MainPID --value ${quote(unit)})
for i in $(seq 120); do runs_deleted_exe "\${pid:-0}" || break; sleep 0.25; done
`,
    timeoutSec: 300,
  };
}

/**
 * Deploy's install (policy-rc.d guard so dpkg restarts nothing behind our back, confold,
 * create_main_cluster off) of exact versions.
 */
export function upgradeInstallCommand(pkgs: readonly { name: string; version: string }[]): Command {
  // A run killed part way may have left apt running on the host: let it finish rather than fail on its lock.
  // Then finish a dpkg run it interrupted, under the same policy-rc.d guard.
  const finish = `set -euo pipefail
for i in $(seq 300); do grep -qsxE 'apt-get|dpkg' /proc/[0-9]*/comm || break; sleep 1; done
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive dpkg --configure -a --force-confold --force-confdef >/dev/null
`;
  const install = installPackagesCommand(pkgs.map((p) => `${p.name}=${p.version}`));
  return { script: finish + install.script, timeoutSec: 900, ...(install.intent ? { intent: install.intent } : {}) };
}
