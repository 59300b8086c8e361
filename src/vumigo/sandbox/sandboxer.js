// vumigo sandboxer: runs Vumi Go JavaScript apps (vumigo_v02 and older) for one account.
//
// Wire protocol: one JSON object per "\n"-terminated line on stdin/stdout, as in the original
// Vumi sandbox (see vumigo/sandbox/protocol.py for the full description). What the app sees is
// the original SandboxApi: api.request(cmd, data, cb), api.log_info(msg, cb), api.done(), and the
// on_<command> handlers it installs. Two things differ, both invisible to the app:
//
//  * Warm reuse. One process serves many messages of one account in turn. Every host line
//    carries "run_id"; every line we emit carries the run_id of the run that produced it, so the
//    host can drop anything a finished run still tries to send. Each run gets a fresh vm context
//    and a fresh SandboxApi; the compiled app (vm.Script) is cached by the host's code hash, so
//    the JavaScript crosses the pipe once per process, not once per message.
//  * No eval of host-supplied code. The original built the app's context by eval-ing the
//    "app_context" string. Here the context is fixed (api, a whitelisting require, Buffer);
//    "app_context" is a JSON object that can only narrow the start-up module whitelist.
//
// The vm is not a security boundary: the host isolates this whole process (permissions,
// rlimits, uid, network namespace). See vumigo/sandbox/isolation.py.
'use strict';

const vm = require('vm');
const Module = require('module');
const path = require('path');

const SCRIPT_CACHE_SIZE = 4;

// Log lines the sandboxer answers itself, with the reply the host's log resource would give
// (it accepts any msg), instead of waiting a round trip for it. The line still goes to the host,
// marked "answered", and is stored there in order. See vumigo/sandbox/protocol.py.
const ANSWERED_HERE = new Set(['log.debug', 'log.info', 'log.warning', 'log.error', 'log.critical']);

function parseArgs(argv) {
    const opts = {modulesDir: null, modules: []};
    for (const arg of argv) {
        if (arg.startsWith('--modules-dir=')) {
            opts.modulesDir = arg.slice('--modules-dir='.length);
        } else if (arg.startsWith('--modules=')) {
            opts.modules = arg.slice('--modules='.length).split(',').filter(Boolean);
        }
    }
    return opts;
}

const opts = parseArgs(process.argv.slice(2));
// Resolve modules from the configured node_modules, not from wherever this file is installed.
const hostRequire = Module.createRequire(
    path.join(opts.modulesDir || path.join(__dirname, 'node_modules'), 'noop.js'));

// Loaded once per process: loading vumigo_v02 and its deps is most of a cold start, and the
// original's reused processes shared the require cache in the same way.
const modules = new Map();
for (const name of opts.modules) {
    try {
        modules.set(name, {value: hostRequire(name)});
    } catch (e) {
        modules.set(name, {error: e});
    }
}

function makeRequire(allowed) {
    return function require(name) {
        if (!allowed.has(name)) {
            return null;  // the original whitelisting require returned null, not an error
        }
        const entry = modules.get(name);
        if (entry.error) {
            throw entry.error;
        }
        return entry.value;
    };
}

// Lines are gathered and written together once the current burst of work is over: a run's
// requests mostly come in bursts (log lines, then a request), and one write instead of several
// saves both processes wake-ups. 'exit' flushes what is left, also after an uncaught exception,
// so a crashing run's last lines still reach the host's log.
let pending = [];

function flush() {
    if (pending.length > 0) {
        const data = pending.join('\n') + '\n';
        pending = [];
        process.stdout.write(data);
    }
}

function write(obj) {
    if (pending.length === 0) {
        setImmediate(flush);
    }
    pending.push(JSON.stringify(obj));
}

process.on('exit', flush);

// The API object of one run. Field and method names are those of the original sandboxer,
// because apps (and vumigo_v01) call them directly.
function SandboxApi(runId) {
    const self = this;
    let nextId = 0;
    let finished = false;
    const waiting = new Map();

    self.id = 0;
    self.loaded = true;

    self.next_id = function () {
        nextId += 1;
        self.id = nextId;
        return String(nextId);
    };

    self.populate_command = function (command, msg) {
        msg.cmd = command;
        msg.reply = false;
        msg.cmd_id = self.next_id();
        return msg;
    };

    self.request = function (command, msg, callback) {
        if (finished) {
            return;  // a run that has said js.done may not talk any more
        }
        msg = self.populate_command(command, msg || {});
        const answerHere = ANSWERED_HERE.has(command) && msg.msg !== undefined && msg.msg !== null;
        if (answerHere) {
            const reply = {cmd: command, cmd_id: msg.cmd_id, reply: true, success: true};
            if (typeof callback === 'function') {
                // Later, as a host reply would be: the app may rely on the callback being async.
                setImmediate(function () {
                    callback(reply);
                });
            }
        } else if (typeof callback === 'function') {
            waiting.set(msg.cmd_id, callback);
        }
        write(Object.assign({}, msg, answerHere ? {run_id: runId, answered: true} : {run_id: runId}));
    };

    self.log_info = function (msg, callback) {
        self.request('log.info', {msg: msg}, callback);
    };

    self.done = function () {
        self.log_info('Done.', function () {
            self.request('js.done', {});
            finished = true;
        });
    };

    // Used when the host sends a command the app installed no handler for. The toolkit
    // replaces this; a bare app gets a log line and a finished run instead of a hang.
    self.on_unknown_command = function (cmd) {
        self.request('log.error', {msg: 'Received unknown command: ' + JSON.stringify(cmd)});
        self.done();
    };

    self._deliver_reply = function (reply) {
        const callback = waiting.get(reply.cmd_id);
        if (callback === undefined) {
            return;  // e.g. replies to requests sent without a callback
        }
        waiting.delete(reply.cmd_id);
        callback(reply);
    };

    self._finish = function () {
        finished = true;
    };
}

const scripts = new Map();  // code hash -> vm.Script, oldest first
let current = null;  // {runId, api}

// Making a vm context costs ~0.4 ms, a good part of a warm run, so the next run's context is
// made while the process is idle. It is used by exactly one run and unreachable before that.
let spareContext = null;

function prepareContext() {
    if (spareContext === null) {
        spareContext = vm.createContext({});
    }
}

function takeContext() {
    prepareContext();
    const context = spareContext;
    spareContext = null;
    setImmediate(prepareContext);
    return context;
}

function compile(cmd) {
    let script = scripts.get(cmd.code_hash);
    if (script === undefined) {
        if (typeof cmd.javascript !== 'string') {
            throw new Error('initialize: no javascript for unknown code hash ' + cmd.code_hash);
        }
        script = new vm.Script(cmd.javascript, {filename: 'app.js'});
        scripts.set(cmd.code_hash, script);
        if (scripts.size > SCRIPT_CACHE_SIZE) {
            scripts.delete(scripts.keys().next().value);
        }
    }
    return script;
}

function allowedModules(appContext) {
    const allowed = new Set(modules.keys());
    if (appContext && Array.isArray(appContext.modules)) {
        const wanted = new Set(appContext.modules);
        for (const name of allowed) {
            if (!wanted.has(name)) {
                allowed.delete(name);
            }
        }
    }
    return allowed;
}

function initialize(cmd) {
    if (current !== null) {
        current.api._finish();
    }
    const api = new SandboxApi(cmd.run_id);
    current = {runId: cmd.run_id, api: api};
    api.log_info('Loading sandboxed code ...');
    // Out now, before any app code runs: the host takes a run that sent nothing as one that
    // never started, and an app can end the process (a memory bomb) before a later flush.
    flush();
    const script = compile(cmd);
    const context = takeContext();
    context.api = api;
    context.require = makeRequire(allowedModules(cmd.app_context));
    context.Buffer = Buffer;
    script.runInContext(context);
}

function handlerName(name) {
    // Only the first "." and the first "-" become "_", as in the original.
    return 'on_' + name.replace('.', '_').replace('-', '_');
}

function dispatch(cmd) {
    if (cmd.cmd === 'exit') {
        process.exit(0);
    }
    if (cmd.cmd === 'initialize') {
        initialize(cmd);
        return;
    }
    if (current === null || cmd.run_id !== current.runId) {
        return;  // before initialize, or left over from an earlier run
    }
    delete cmd.run_id;  // the app sees the original protocol's fields only
    const api = current.api;
    if (cmd.reply) {
        api._deliver_reply(cmd);
        return;
    }
    const handler = api[handlerName(cmd.cmd)];
    if (typeof handler === 'function') {
        handler.call(api, cmd);
    } else {
        api.on_unknown_command(cmd);
    }
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', function (chunk) {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) {
            // A bad line or a throwing app crashes the process on purpose: the host logs
            // stderr and replaces the process, exactly as after a crash in the original.
            dispatch(JSON.parse(line));
        }
        newline = buffered.indexOf('\n');
    }
});
process.stdin.on('end', function () {
    process.exit(0);
});

prepareContext();
const failed = [...modules].filter(([, entry]) => entry.error).map(([name]) => name);
write({
    cmd: 'sandbox.ready', cmd_id: '0', reply: false, run_id: null,
    node: process.version, pid: process.pid, failed_modules: failed,
});
