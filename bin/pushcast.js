#!/usr/bin/env -S node --max-semi-space-size=4
// The installed command: everything lives in the built CLI. The flag caps V8's young generation
// (16 MB a semi-space by default), which a streaming campaign fills with short-lived rows:
// measured at no cost in speed, it keeps peak memory flat as the audience grows (npm run bench).
import { main } from '../dist/cli/main.js';

main(process);
