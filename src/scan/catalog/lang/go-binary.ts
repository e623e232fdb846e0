/*
 * Go modules compiled into ELF executables, read from the build info the Go
 * linker embeds (see go-buildinfo.ts). Reported: the Go standard library as
 * `stdlib` at the toolchain's version (advisories for the runtime and
 * standard packages are filed under that name), the main module when its
 * version is known (not `(devel)`), and each dependency. A dependency
 * replaced by another module version is reported as the replacement, since
 * that is the code that was linked; one replaced by a local directory has no
 * version to match and is left out.
 */
import type { Cataloger, ImageFile, Package } from '../../types.js';
import { isElf, parseElf } from './elf.js';
import { goToolchainSemver, parseModInfo, readGoBuildInfo, type GoModule } from './go-buildinfo.js';
import { FoundPackages, inspectOrNothing, isExecutableCandidate, type Found } from './lang-package.js';

/** The purl parts of a module path: namespace up to the last `/`, name after it. */
function moduleFound(path: string, version: string): Found {
  const slash = path.lastIndexOf('/');
  return slash < 0
    ? { name: path, version }
    : { name: path, version, namespace: path.slice(0, slash), purlName: path.slice(slash + 1) };
}

/** The module that was linked: the replacement when it names a version, undefined for a local directory. */
function linked(mod: GoModule): { path: string; version: string } | undefined {
  if (!mod.replace) return mod;
  const v = mod.replace.version;
  return v && v !== '(devel)' ? mod.replace : undefined;
}

/** Packages of one Go binary; [] when the file is not an ELF Go binary or its build info is unreadable. */
export function goBinaryPackages(file: ImageFile): Package[] {
  if (!isElf(file.content)) return [];
  const elf = parseElf(file.content);
  const info = elf && readGoBuildInfo(elf);
  if (!info) return [];
  const found = new FoundPackages(file, 'go-module');
  const stdlib = goToolchainSemver(info.goVersion);
  if (stdlib) found.add({ name: 'stdlib', version: stdlib });
  const mods = parseModInfo(info.modinfo);
  const main = mods.main && linked(mods.main);
  if (main && main.version !== '(devel)') found.add(moduleFound(main.path, main.version));
  for (const dep of mods.deps) {
    const mod = linked(dep);
    if (mod) found.add(moduleFound(mod.path, mod.version));
  }
  return found.list();
}

/** Go binaries: every executable is inspected, since only its bytes tell whether it is one. */
export const goBinaryCataloger: Cataloger = {
  name: 'go-binary',
  select: (_path, size, mode) => (isExecutableCandidate(size, mode) ? 'inspect' : undefined),
  inspect: async (file) => inspectOrNothing(file, goBinaryPackages),
};
