/**
 * The machine a bench ran on, as every bench prints it: figures from a 2-core shared VM and from a
 * workstation are not comparable, so each result carries this.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export interface MachineInfo {
  cpu: string;
  cores: number;
  ram_gib: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? "cpu",
    cores: os.cpus().length,
    ram_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** "2 × AMD EPYC, 24 GiB, Node v24.21.0" */
export function machineLine(m: MachineInfo = machineInfo()): string {
  return `${m.cores} × ${m.cpu}, ${m.ram_gib} GiB, Node ${m.node}`;
}

/** Installed version of a dependency of the project (from its package.json), or "?". */
export function packageVersion(name: string): string {
  try {
    const file = join(import.meta.dirname, "../../node_modules", name, "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? "?";
  } catch {
    return "?";
  }
}
