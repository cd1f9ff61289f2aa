import { stateRoot } from '../container/root.js';
import { ContainerStore } from '../container/store.js';
import { isRootless, type RootlessSetting } from '../linux/rootless.js';
import type { LogFormat } from './log.js';
import { Logger } from './log.js';

/** The global flags, as every subcommand receives them. */
export interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  rootless: RootlessSetting;
}

/** What a subcommand works with: the resolved globals, computed only when asked for. */
export class Context {
  readonly logger: Logger;
  private rootlessValue: boolean | undefined;
  private storeValue: ContainerStore | undefined;

  constructor(readonly options: GlobalOptions) {
    this.logger = new Logger(options.log, options.logFormat, options.debug);
  }

  get rootless(): boolean {
    this.rootlessValue ??= isRootless(this.options.rootless);
    return this.rootlessValue;
  }

  get store(): ContainerStore {
    this.storeValue ??= new ContainerStore(stateRoot(this.options.root, this.rootless));
    return this.storeValue;
  }
}
