import { stateRoot } from '../container/root.js';
import { isRootless, type RootlessSetting } from '../linux/rootless.js';
import type { LogFormat } from './log.js';

/** The global flags, as every subcommand receives them. */
export interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  rootless: RootlessSetting;
}

/** What a subcommand works with: the resolved globals, computed only when asked for (start-up stays small). */
export class Context {
  private rootlessValue: boolean | undefined;
  private stateRootValue: string | undefined;

  constructor(readonly options: GlobalOptions) {}

  get rootless(): boolean {
    this.rootlessValue ??= isRootless(this.options.rootless);
    return this.rootlessValue;
  }

  /** The state root directory (see container/root.ts); the container store is opened by the commands that use it. */
  get stateRoot(): string {
    this.stateRootValue ??= stateRoot(this.options.root, this.rootless);
    return this.stateRootValue;
  }
}
