/**
 * The plans of `tsrun exec`: a new process in a running container. The shim, non-dumpable from
 * its first step (so nothing in the container can ptrace it or open its memory while it holds
 * host resources), connects to a seccomp agent if the profile needs one, opens the container's
 * root, joins every namespace the container has through a pidfd of its init (one setns call, all
 * at once), takes that root, and clones the process, which tsrun then puts in the container's
 * cgroup before sending it its plan.
 */
import { checkProcess, consoleStep, type PlanInput, processPreamble, seccompFilter, socketSteps } from './build.js';
import { ParentMode, PivotMode, type PlanStep, steps } from './encode.js';

export interface ExecPlanInput {
  /** The container's config, with process replaced by the one to run. */
  plan: PlanInput;
  /** The container's init. */
  initPid: number;
  /** The shim's fd number of a pidfd of the init. */
  pidfd: number;
  /** CLONE_NEW* flags of the namespaces the container has of its own. */
  namespaces: number;
}

export interface ExecPlans {
  host: PlanStep[];
  /** The process's plan, once its pid (in state) is known. */
  process: (state: string) => PlanStep[];
}

export function buildExecPlans(input: ExecPlanInput): ExecPlans {
  const { config } = input.plan;
  const proc = checkProcess(config.process, 'exec: process');
  const filter = seccompFilter(config, input.plan.bundleDir);
  const host: PlanStep[] = [
    steps.dumpable(false),
    ...(filter?.host ?? []),
    ...socketSteps(input.plan, proc),
    // Opened before the mount namespace changes: the container's root, as the host sees it.
    steps.rootfs(`/proc/${input.initPid}/root`),
    steps.setnsFd(input.pidfd, input.namespaces, "join the container's namespaces"),
    steps.pivot(PivotMode.Chroot),
    // A new pid namespace counts for children only: the process is the clone.
    steps.clone(0n, input.plan.relay ? ParentMode.Relay : ParentMode.Exit),
    steps.nextPlan(),
  ];
  const process = (state: string): PlanStep[] => {
    const seccomp = filter?.load(state);
    const out = proc.terminal ? [consoleStep(proc, '')] : [];
    out.push(...processPreamble(input.plan, proc, seccomp));
    if (seccomp && proc.noNewPrivileges) out.push(seccomp);
    out.push(steps.exec(proc.args ?? [], proc.env ?? []));
    return out;
  };
  return { host, process };
}
