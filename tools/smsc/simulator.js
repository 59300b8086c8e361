#!/usr/bin/env node
'use strict';
// An SMSC simulator for tests and benchmarks, built on the npm `smpp` package.
//
// It binds ESMEs (transceiver, transmitter, receiver), answers submit_sm with incrementing ids,
// sends delivery receipts and MO messages, reassembles what it receives, and can be told to
// misbehave (throttle, queue full, reject, drop the socket, delay) through a small HTTP control
// server, so tests can steer it while it runs. Both servers listen on 127.0.0.1 only.
//
//   node tools/smsc/simulator.js [--port=0] [--control-port=0] [--system-id=ID] [--password=PW]
//        [--id-format=decimal|hex] [--receipt-id-format=decimal|hex] [--id-start=1]
//        [--dlr-delay-ms=50] [--verbose]
// Every option can also come from the environment: SMSC_PORT, SMSC_CONTROL_PORT, SMSC_SYSTEM_ID,
// SMSC_PASSWORD, SMSC_ID_FORMAT, SMSC_RECEIPT_ID_FORMAT, SMSC_ID_START, SMSC_DLR_DELAY_MS.
// Port 0 picks a free port; the ready line on stdout says which were taken:
//   SMSC listening smpp=PORT control=PORT
//
// Control API (JSON in and out):
//   POST /mode        merge settings, e.g. {"throttle": 3, "qfull": 1, "reject": 1,
//                     "reject_status": 69, "drop_after": 5, "drop_accepted": false,
//                     "delay_ms": 20, "dlr_status": "UNDELIV",
//                     "dlr": true, "receipt_tlvs": true, "id_format": "hex",
//                     "receipt_id_format": "decimal", "dlr_delay_ms": 0,
//                     "enquire_link_interval_ms": 200}; returns the whole mode
//   POST /mo          send an MO deliver_sm: {"source", "destination", "text", "data_coding",
//                     "split": "auto|none|udh|udh16|sar|payload", "service_type",
//                     "ussd_service_op", "its_session_info"}; answers once the ESME replied
//   POST /deliver     send a raw deliver_sm: {"source", "destination", "esm_class", "text",
//                     "receipted_message_id", "message_state"} (e.g. a receipt without TLVs)
//   POST /unbind      ask every bound ESME to unbind;   POST /disconnect  drop every socket
//   GET  /received    reassembled submitted messages;   GET /submits  one entry per submit_sm
//   GET  /stats       counters;                         POST /reset  forget everything but ids

const http = require('http');
const smpp = require('smpp');

// Keep short_message and message_payload as raw octets: this file decodes them itself, so what
// the tests see does not depend on the library's charset guesses.
smpp.filters.message.decode = (value) => value;

const E = smpp.errors;

// ---------------------------------------------------------------- options

function option(name, env, fallback) {
  const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  if (flag) return flag.slice(name.length + 3);
  if (process.env[env] !== undefined && process.env[env] !== '') return process.env[env];
  return fallback;
}

const config = {
  port: Number(option('port', 'SMSC_PORT', '0')),
  controlPort: Number(option('control-port', 'SMSC_CONTROL_PORT', '0')),
  systemId: option('system-id', 'SMSC_SYSTEM_ID', ''),
  password: option('password', 'SMSC_PASSWORD', ''),
  idFormat: option('id-format', 'SMSC_ID_FORMAT', 'decimal'),
  receiptIdFormat: option('receipt-id-format', 'SMSC_RECEIPT_ID_FORMAT', ''),
  idStart: Number(option('id-start', 'SMSC_ID_START', '1')),
  dlrDelayMs: Number(option('dlr-delay-ms', 'SMSC_DLR_DELAY_MS', '50')),
  verbose: process.argv.includes('--verbose'),
};

function log(...args) {
  if (config.verbose) console.error('[smsc]', ...args);
}

function defaultMode() {
  return {
    throttle: 0, // the next N submits are answered ESME_RTHROTTLED
    qfull: 0, // the next N submits are answered ESME_RMSGQFUL
    reject: 0, // the next N submits are answered reject_status
    reject_status: E.ESME_RSUBMITFAIL,
    drop_after: null, // answer N more submits, then close the socket on the next one unanswered
    drop_accepted: false, // record that last submit as accepted anyway (its resp is what is lost)
    drop_abruptly: false, // destroy the socket, losing answers not yet flushed, instead of end()
    delay_ms: 0, // wait this long before answering each submit
    dlr: true, // send receipts when registered_delivery asks for them
    dlr_status: 'DELIVRD',
    dlr_err: null, // err: field; defaults to 000 for DELIVRD, 001 otherwise
    dlr_delay_ms: config.dlrDelayMs,
    receipt_tlvs: true, // add receipted_message_id and message_state to receipts
    receipt_esm_class: 0x04,
    id_format: config.idFormat, // form of the id in submit_sm_resp and receipted_message_id
    receipt_id_format: config.receiptIdFormat || config.idFormat, // form in the receipt text
    enquire_link_interval_ms: 0, // send our own enquire_link to bound ESMEs this often
    redeliver_delay_ms: 200, // retry a deliver_sm the ESME answered with an error
  };
}

// ---------------------------------------------------------------- state

let mode = defaultMode();
let nextId = config.idStart;
let stats;
let received; // reassembled messages
let submits; // one entry per accepted submit_sm
let partial; // multipart buffers keyed by source|destination|ref|total
let waiting; // deliver_sm jobs waiting for a receiver-capable bind

// Timers for delayed answers and receipts, so a reset also cancels what an earlier test started.
const timers = new Set();

function later(fn, ms) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

function resetState() {
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  stats = {
    connections: 0,
    binds: { transceiver: 0, transmitter: 0, receiver: 0 },
    bind_failures: 0,
    submit_sm: 0,
    submit_sm_resp: {},
    deliver_sm_sent: 0,
    deliver_sm_resp: {},
    dlr_sent: 0,
    mo_sent: 0,
    enquire_link_received: 0,
    enquire_link_sent: 0,
    enquire_link_resp_received: 0,
    unbind_received: 0,
    unbind_sent: 0,
    drops: 0,
  };
  received = [];
  submits = [];
  partial = new Map();
  waiting = [];
}
resetState();

const STATUS_NAMES = {};
for (const [name, code] of Object.entries(E)) if (!(code in STATUS_NAMES)) STATUS_NAMES[code] = name;

function bump(table, key) {
  table[key] = (table[key] || 0) + 1;
}

// ---------------------------------------------------------------- text

const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = { 0x0a: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2f: '\\', 0x3c: '[', 0x3d: '~',
  0x3e: ']', 0x40: '|', 0x65: '€' };
const GSM_ENCODE = new Map();
[...GSM_BASIC].forEach((ch, i) => { if (i !== 0x1b) GSM_ENCODE.set(ch, Buffer.from([i])); });
for (const [code, ch] of Object.entries(GSM_EXT)) GSM_ENCODE.set(ch, Buffer.from([0x1b, Number(code)]));

function gsmDecode(buf) {
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i] & 0x7f;
    if (b === 0x1b && i + 1 < buf.length) {
      const next = buf[++i] & 0x7f;
      out += GSM_EXT[next] !== undefined ? GSM_EXT[next] : GSM_BASIC[next];
    } else {
      out += GSM_BASIC[b];
    }
  }
  return out;
}

function ucs2Encode(text) {
  return Buffer.from(text, 'utf16le').swap16();
}

function ucs2Decode(buf) {
  const copy = Buffer.from(buf.length % 2 ? buf.subarray(0, buf.length - 1) : buf);
  return copy.swap16().toString('utf16le');
}

function decodeText(buf, dataCoding) {
  if (dataCoding === 0x08) return ucs2Decode(buf);
  if (dataCoding === 0x03 || dataCoding === 0x04 || dataCoding === 0x02) return buf.toString('latin1');
  if (dataCoding === 0x01) return buf.toString('ascii');
  return gsmDecode(buf);
}

// Encoded text as indivisible units, so a split never cuts an escape pair or a surrogate pair.
function textUnits(text, dataCoding) {
  const units = [];
  for (const ch of text) {
    if (dataCoding === 0x08) units.push(ucs2Encode(ch));
    else if (dataCoding === 0x03) units.push(Buffer.from(ch, 'latin1'));
    else units.push(GSM_ENCODE.get(ch) || Buffer.from([0x20]));
  }
  return units;
}

function chunkUnits(units, limit) {
  const chunks = [];
  let current = [];
  let size = 0;
  for (const unit of units) {
    if (size + unit.length > limit) {
      chunks.push(Buffer.concat(current));
      current = [];
      size = 0;
    }
    current.push(unit);
    size += unit.length;
  }
  if (current.length) chunks.push(Buffer.concat(current));
  return chunks;
}

// ---------------------------------------------------------------- ids and receipts

function formatId(n, format) {
  return format === 'hex' ? n.toString(16) : String(n);
}

const MESSAGE_STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6,
  UNKNOWN: 7, REJECTD: 8 };

function smppDate(date) {
  const p = (n) => String(n).padStart(2, '0');
  return p(date.getUTCFullYear() % 100) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) +
    p(date.getUTCHours()) + p(date.getUTCMinutes());
}

function receiptFor(entry) {
  const status = mode.dlr_status;
  const delivered = status === 'DELIVRD';
  const err = mode.dlr_err || (delivered ? '000' : '001');
  const now = new Date();
  const text = `id:${formatId(entry.n, mode.receipt_id_format)} sub:001 ` +
    `dlvrd:${delivered ? '001' : '000'} submit date:${smppDate(entry.at)} ` +
    `done date:${smppDate(now)} stat:${status} err:${err} text:${entry.text.slice(0, 20)}`;
  const fields = {
    source_addr: entry.destination,
    destination_addr: entry.source,
    esm_class: mode.receipt_esm_class,
    data_coding: 0,
    short_message: Buffer.from(text, 'latin1'),
  };
  if (mode.receipt_tlvs) {
    fields.receipted_message_id = formatId(entry.n, mode.id_format);
    fields.message_state = MESSAGE_STATES[status] || MESSAGE_STATES.UNKNOWN;
  }
  return fields;
}

// ---------------------------------------------------------------- delivering to ESMEs

let server;

function receiverSessions() {
  return server.sessions.filter(
    (s) => !s.dropped && (s.bindType === 'transceiver' || s.bindType === 'receiver'),
  );
}

// Send one deliver_sm and resolve with the ESME's status; a job is retried after an error status
// and re-queued when the socket closes before the answer (the SMSC side of at-least-once).
function deliver(fields, kind) {
  return new Promise((resolve) => {
    dispatch({ fields, kind, attempts: 0, resolve });
  });
}

function dispatch(job) {
  const targets = receiverSessions();
  if (!targets.length) {
    waiting.push(job);
    return;
  }
  const session = targets[Math.floor(Math.random() * targets.length)];
  job.attempts += 1;
  const pdu = new smpp.PDU('deliver_sm', { ...job.fields });
  const sent = session.send(pdu, (resp) => {
    session.outstanding.delete(pdu.sequence_number);
    bump(stats.deliver_sm_resp, STATUS_NAMES[resp.command_status] || resp.command_status);
    if (resp.command_status !== 0 && job.attempts < 10) {
      later(() => dispatch(job), mode.redeliver_delay_ms);
      return;
    }
    job.resolve(resp.command_status);
  });
  if (!sent) {
    waiting.push(job);
    return;
  }
  session.outstanding.set(pdu.sequence_number, job);
  stats.deliver_sm_sent += 1;
  if (job.kind === 'dlr') stats.dlr_sent += 1;
  else stats.mo_sent += 1;
}

function flushWaiting() {
  const jobs = waiting;
  waiting = [];
  jobs.forEach(dispatch);
}

// ---------------------------------------------------------------- receiving submits

function parseConcat(pdu, body) {
  if (pdu.esm_class & 0x40 && body.length) {
    const udhLength = body[0];
    const udh = body.subarray(1, 1 + udhLength);
    const rest = body.subarray(1 + udhLength);
    for (let i = 0; i + 1 < udh.length; i += 2 + udh[i + 1]) {
      const iei = udh[i];
      const data = udh.subarray(i + 2, i + 2 + udh[i + 1]);
      if (iei === 0x00 && data.length === 3) {
        return { kind: 'udh8', ref: data[0], total: data[1], seq: data[2], body: rest };
      }
      if (iei === 0x08 && data.length === 4) {
        return { kind: 'udh16', ref: data.readUInt16BE(0), total: data[2], seq: data[3], body: rest };
      }
    }
    return { kind: 'none', body: rest };
  }
  if (pdu.sar_msg_ref_num !== undefined && pdu.sar_total_segments) {
    return { kind: 'sar', ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments,
      seq: pdu.sar_segment_seqnum, body };
  }
  return { kind: body === pdu.message_payload ? 'payload' : 'none', body };
}

function sessionInfo(value) {
  if (Buffer.isBuffer(value) && value.length >= 2) return value.readUInt16BE(0);
  return value === undefined ? null : value;
}

function record(pdu, session, n, messageId) {
  const body = pdu.message_payload && pdu.message_payload.length ? pdu.message_payload
    : (pdu.short_message || Buffer.alloc(0));
  const concat = parseConcat(pdu, body);
  const common = {
    source: pdu.source_addr,
    destination: pdu.destination_addr,
    data_coding: pdu.data_coding,
    esm_class: pdu.esm_class,
    registered_delivery: pdu.registered_delivery,
    service_type: pdu.service_type,
    source_addr_ton: pdu.source_addr_ton,
    source_addr_npi: pdu.source_addr_npi,
    dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi,
    ussd_service_op: pdu.ussd_service_op === undefined ? null : pdu.ussd_service_op,
    its_session_info: sessionInfo(pdu.its_session_info),
    system_id: session.systemId,
  };
  const entry = { ...common, message_id: messageId, n, at: new Date(), concat: concat.kind,
    part: concat.seq || 1, total: concat.total || 1, text: decodeText(concat.body, pdu.data_coding) };
  submits.push(entry);
  if (!concat.total || concat.total <= 1) {
    received.push({ ...common, message_ids: [messageId], parts: 1, concat: concat.kind,
      text: entry.text });
    return entry;
  }
  const key = `${pdu.source_addr}|${pdu.destination_addr}|${concat.ref}|${concat.total}`;
  const parts = partial.get(key) || new Map();
  parts.set(concat.seq, { body: concat.body, messageId });
  partial.set(key, parts);
  if (parts.size === concat.total) {
    partial.delete(key);
    const ordered = [...parts.keys()].sort((a, b) => a - b).map((seq) => parts.get(seq));
    received.push({ ...common, message_ids: ordered.map((p) => p.messageId), parts: concat.total,
      concat: concat.kind, text: decodeText(Buffer.concat(ordered.map((p) => p.body)), pdu.data_coding) });
  }
  return entry;
}

function onSubmit(session, pdu) {
  if (session.dropped) return;
  if (session.bindType !== 'transceiver' && session.bindType !== 'transmitter') {
    session.send(pdu.response({ command_status: E.ESME_RINVBNDSTS }));
    return;
  }
  stats.submit_sm += 1;
  if (mode.drop_after !== null && mode.drop_after !== undefined) {
    if (mode.drop_after <= 0) {
      // Close without answering: the ESME cannot know whether this one was accepted.
      if (mode.drop_accepted) {
        const n = nextId++;
        record(pdu, session, n, formatId(n, mode.id_format));
      }
      mode.drop_after = null;
      session.dropped = true;
      stats.drops += 1;
      log('dropping connection on submit', pdu.sequence_number);
      // end() still delivers the answers already written; destroy() may lose some of them too.
      if (mode.drop_abruptly) session.destroy();
      else session.socket.end();
      return;
    }
    mode.drop_after -= 1;
  }
  let status = E.ESME_ROK;
  if (mode.throttle > 0) {
    mode.throttle -= 1;
    status = E.ESME_RTHROTTLED;
  } else if (mode.qfull > 0) {
    mode.qfull -= 1;
    status = E.ESME_RMSGQFUL;
  } else if (mode.reject > 0) {
    mode.reject -= 1;
    status = mode.reject_status;
  }
  let entry = null;
  let messageId = '';
  if (status === E.ESME_ROK) {
    const n = nextId++;
    messageId = formatId(n, mode.id_format);
    entry = record(pdu, session, n, messageId);
  }
  const answer = () => {
    if (session.dropped) return;
    bump(stats.submit_sm_resp, STATUS_NAMES[status] || status);
    const resp = status === E.ESME_ROK ? pdu.response({ message_id: messageId })
      : pdu.response({ command_status: status });
    session.send(resp);
    if (entry && mode.dlr && pdu.registered_delivery & 0x03) {
      const fields = receiptFor(entry);
      const send = () => deliver(fields, 'dlr');
      later(send, mode.dlr_delay_ms);
    }
  };
  if (mode.delay_ms > 0) later(answer, mode.delay_ms);
  else answer();
}

// ---------------------------------------------------------------- sessions

function onBind(session, pdu, bindType) {
  if (session.bindType) {
    session.send(pdu.response({ command_status: E.ESME_RALYBND }));
    return;
  }
  let status = E.ESME_ROK;
  if (config.systemId && pdu.system_id !== config.systemId) status = E.ESME_RINVSYSID;
  else if (config.password && pdu.password !== config.password) status = E.ESME_RINVPASWD;
  if (status !== E.ESME_ROK) {
    stats.bind_failures += 1;
    session.send(pdu.response({ command_status: status }));
    session.close();
    return;
  }
  session.bindType = bindType;
  session.systemId = pdu.system_id;
  stats.binds[bindType] += 1;
  session.send(pdu.response({ system_id: 'SIMSMSC' }));
  log('bound', bindType, pdu.system_id);
  if (bindType !== 'transmitter') setImmediate(flushWaiting);
}

function onSession(session) {
  stats.connections += 1;
  session.bindType = null;
  session.outstanding = new Map();
  session.on('error', (err) => log('session error', err.message));
  session.on('close', () => {
    // Anything the ESME never answered goes out again on another (or the next) bind.
    const jobs = [...session.outstanding.values()];
    session.outstanding.clear();
    session.bindType = null;
    jobs.forEach((job) => waiting.push(job));
    if (jobs.length) setImmediate(flushWaiting);
  });
  for (const bindType of ['transceiver', 'transmitter', 'receiver']) {
    session.on(`bind_${bindType}`, (pdu) => onBind(session, pdu, bindType));
  }
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => {
    stats.enquire_link_received += 1;
    session.send(pdu.response());
  });
  session.on('enquire_link_resp', () => {
    stats.enquire_link_resp_received += 1;
  });
  session.on('unbind', (pdu) => {
    stats.unbind_received += 1;
    session.bindType = null;
    session.send(pdu.response());
    session.close();
  });
  session.on('unbind_resp', () => session.close());
  session.on('unknown', (pdu) => session.send(pdu.response()));
}

function sendEnquireLinks() {
  for (const session of server.sessions) {
    if (session.bindType && !session.dropped) {
      stats.enquire_link_sent += 1;
      session.enquire_link();
    }
  }
}

let enquireTimer = null;

function applyEnquireTimer() {
  if (enquireTimer) clearInterval(enquireTimer);
  enquireTimer = null;
  if (mode.enquire_link_interval_ms > 0) {
    enquireTimer = setInterval(sendEnquireLinks, mode.enquire_link_interval_ms);
  }
}

// ---------------------------------------------------------------- MO messages

function moPdus(body) {
  const text = body.text || '';
  let dataCoding = body.data_coding;
  if (dataCoding === undefined || dataCoding === null) {
    dataCoding = [...text].every((ch) => GSM_ENCODE.has(ch)) ? 0 : 0x08;
  }
  const units = textUnits(text, dataCoding);
  const total = units.reduce((n, u) => n + u.length, 0);
  const single = dataCoding === 0 ? 160 : 140;
  const partSize = dataCoding === 0 ? 153 : 134;
  let split = body.split || 'auto';
  if (split === 'auto') split = total > single ? 'udh' : 'none';
  const base = {
    source_addr: body.source || '27820000001',
    destination_addr: body.destination || '12345',
    service_type: body.service_type || '',
    esm_class: body.esm_class || 0,
    data_coding: dataCoding,
  };
  if (body.ussd_service_op !== undefined) base.ussd_service_op = body.ussd_service_op;
  if (body.its_session_info !== undefined) {
    const info = Buffer.alloc(2);
    info.writeUInt16BE(body.its_session_info, 0);
    base.its_session_info = info;
  }
  if (split === 'payload') {
    return [{ ...base, short_message: Buffer.alloc(0), message_payload: Buffer.concat(units) }];
  }
  if (split === 'none') return [{ ...base, short_message: Buffer.concat(units) }];
  const chunks = chunkUnits(units, split === 'udh16' ? partSize - 1 : partSize);
  const ref = Math.floor(Math.random() * (split === 'udh16' ? 65536 : 256));
  return chunks.map((chunk, i) => {
    if (split === 'sar') {
      return { ...base, short_message: chunk, sar_msg_ref_num: ref,
        sar_total_segments: chunks.length, sar_segment_seqnum: i + 1 };
    }
    const udh = split === 'udh16'
      ? Buffer.from([6, 0x08, 4, ref >> 8, ref & 0xff, chunks.length, i + 1])
      : Buffer.from([5, 0x00, 3, ref, chunks.length, i + 1]);
    return { ...base, esm_class: base.esm_class | 0x40, short_message: Buffer.concat([udh, chunk]) };
  });
}

// ---------------------------------------------------------------- control server

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('timeout'), ms))]);
}

const routes = {
  'GET /stats': () => ({
    ...stats,
    sessions: server.sessions.map((s) => ({ bind_type: s.bindType, system_id: s.systemId || null })),
    waiting: waiting.length,
    next_id: nextId,
  }),
  'GET /received': () => received,
  'GET /submits': () => submits.map(({ at, n, ...rest }) => rest),
  'GET /mode': () => mode,
  'POST /mode': (body) => {
    mode = { ...mode, ...body };
    applyEnquireTimer();
    return mode;
  },
  'POST /reset': () => {
    resetState();
    mode = defaultMode();
    applyEnquireTimer();
    return { ok: true };
  },
  'POST /mo': async (body) => {
    const statuses = [];
    for (const fields of moPdus(body)) {
      statuses.push(await withTimeout(deliver(fields, 'mo'), body.timeout_ms || 5000));
    }
    return { statuses };
  },
  'POST /deliver': async (body) => {
    const fields = {
      source_addr: body.source || '27820000001',
      destination_addr: body.destination || '12345',
      esm_class: body.esm_class || 0,
      data_coding: body.data_coding || 0,
      short_message: Buffer.from(body.text || '', 'latin1'),
    };
    if (body.receipted_message_id !== undefined) fields.receipted_message_id = body.receipted_message_id;
    if (body.message_state !== undefined) fields.message_state = body.message_state;
    return { statuses: [await withTimeout(deliver(fields, 'mo'), body.timeout_ms || 5000)] };
  },
  'POST /unbind': () => {
    for (const session of server.sessions) {
      if (session.bindType) {
        stats.unbind_sent += 1;
        session.unbind();
      }
    }
    return { ok: true };
  },
  'POST /disconnect': () => {
    const count = server.sessions.length;
    for (const session of [...server.sessions]) session.destroy();
    return { dropped: count };
  },
};

const control = http.createServer(async (req, res) => {
  const route = routes[`${req.method} ${req.url.split('?')[0]}`];
  let status = 200;
  let payload;
  try {
    if (!route) {
      status = 404;
      payload = { error: 'no such route' };
    } else {
      payload = await route(await readJson(req));
    }
  } catch (err) {
    status = 400;
    payload = { error: String(err && err.message ? err.message : err) };
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
});

// ---------------------------------------------------------------- start and stop

server = smpp.createServer(onSession);
server.on('error', (err) => {
  console.error('SMSC error', err.message);
  process.exit(1);
});
server.listen(config.port, '127.0.0.1', () => {
  control.listen(config.controlPort, '127.0.0.1', () => {
    console.log(`SMSC listening smpp=${server.address().port} control=${control.address().port}`);
  });
});

function shutdown() {
  if (enquireTimer) clearInterval(enquireTimer);
  for (const session of [...server.sessions]) session.destroy();
  control.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
