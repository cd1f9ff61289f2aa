import { stateRoot } from '../container/root.js';
import { isRootless, type RootlessSetting } from '../linux/rootless.js';
import { type LogFormat, Logger } from './log.js';

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

  readonly logger: Logger;

  constructor(readonly options: GlobalOptions) {
    this.logger = new Logger(options.log, options.logFormat);
  }

  /** Warnings name the subcommand, like errors do. */
  warn(command: string): (msg: string) => void {
    return (msg) => this.logger.warn(`${command}: ${msg}`);
  }

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
