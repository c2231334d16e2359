#!/usr/bin/env node
// The installed entry point; the code lives in dist/ (built by `npm install` via prepare).
import '../dist/src/cli/entry.js';
