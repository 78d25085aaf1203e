#!/usr/bin/env node
// Runs the TypeScript CLI in this same process (tsx's loader registered in-process), so a signal
// sent to `dfc` reaches the process doing the work — no wrapper child to orphan.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
