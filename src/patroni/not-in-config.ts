/**
 * A member of the live cluster (a Patroni member in the DCS, its leader included) that config.yml
 * no longer names. This is a real state, not a pgha bug: an operator removed an instance from
 * config.yml while it still runs and holds its place in the cluster. Every command that meets
 * one says so the same way, with the two ways out.
 */
export function notInConfigMessage(name: string, what = 'a member of the live cluster'): string {
  return `${name} is ${what}, but config.yml does not name it`;
}

export function notInConfigHint(name: string, dir = 'DIR'): string {
  return (
    `put ${name} back under instances in ${dir}/config.yml, or remove it from the cluster ` +
    `(if it leads, switch over to a member config.yml names first; then stop Patroni on ${name})`
  );
}
