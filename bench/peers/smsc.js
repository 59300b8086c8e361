#!/usr/bin/env node
'use strict';
// A lean SMSC for the gateway comparison (bench/vs_jasmin.py), on the npm `smpp` package.
// (The test suite's tools/smsc/simulator.js keeps every message it receives and sends one MO per
// control call; here the simulator must cost little and the same per message for both gateways.)
//
// It keeps no message, only counters per bound system_id, so that its own cost per message is
// small and the same whichever gateway is on the other end:
//   - submit_sm is answered at once with an incrementing id and counted per system_id, with the
//     times of the first and the last one (no receipts are sent: the gateways are compared on
//     getting messages accepted by the SMSC);
//   - on request it sends a burst of MO deliver_sm to the session bound with a given system_id,
//     at most `window` of them unanswered at a time; each text carries its send time in ms
//     ("mo <n> <epoch ms>") so the receiver of the gateway's HTTP push can time the whole way.
//
//   node bench/peers/smsc.js        prints: SMSC listening smpp=PORT control=PORT
//
// Control API (JSON, 127.0.0.1 only):
//   GET  /stats                 {"binds": {system_id: bind_type}, "gateways": {system_id:
//                                {"submit_sm", "first_ms", "last_ms", "mo_sent", "mo_ok",
//                                "mo_failed", "mo_first_ms", "mo_last_resp_ms"}}}
//   POST /reset {"system_id"}   zero that system_id's counters (all when omitted)
//   POST /mo {"system_id", "count", "window", "destination", "source_prefix"}
//                               start a burst; answers at once, progress is in /stats

const http = require('http');
const smpp = require('smpp');

// Keep texts as raw octets: nothing here reads them, so decoding would only cost time.
smpp.filters.message.decode = (value) => value;

const gateways = new Map();
const sessions = new Set();
let nextId = 1;

function counters(systemId) {
  let entry = gateways.get(systemId);
  if (!entry) {
    entry = {
      submit_sm: 0, first_ms: null, last_ms: null,
      mo_sent: 0, mo_ok: 0, mo_failed: 0, mo_first_ms: null, mo_last_resp_ms: null,
    };
    gateways.set(systemId, entry);
  }
  return entry;
}

function onSession(session) {
  sessions.add(session);
  session.bindType = null;
  session.systemId = null;
  session.on('error', () => {});
  session.on('close', () => sessions.delete(session));
  for (const bindType of ['transceiver', 'transmitter', 'receiver']) {
    session.on(`bind_${bindType}`, (pdu) => {
      session.bindType = bindType;
      session.systemId = pdu.system_id;
      counters(pdu.system_id);
      session.send(pdu.response({ system_id: 'BENCHSMSC' }));
    });
  }
  session.on('submit_sm', (pdu) => {
    if (session.bindType !== 'transceiver' && session.bindType !== 'transmitter') {
      session.send(pdu.response({ command_status: smpp.errors.ESME_RINVBNDSTS }));
      return;
    }
    const entry = counters(session.systemId);
    const now = Date.now();
    if (entry.first_ms === null) entry.first_ms = now;
    entry.last_ms = now;
    entry.submit_sm += 1;
    session.send(pdu.response({ message_id: String(nextId++) }));
  });
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session.close();
  });
  session.on('unknown', (pdu) => session.send(pdu.response()));
}

function receiverFor(systemId) {
  for (const session of sessions) {
    if (session.systemId === systemId &&
        (session.bindType === 'transceiver' || session.bindType === 'receiver')) {
      return session;
    }
  }
  return null;
}

function moBurst({ system_id: systemId, count, window, destination, source_prefix: prefix }) {
  const session = receiverFor(systemId);
  if (!session) throw new Error(`no receiver bind for ${systemId}`);
  const entry = counters(systemId);
  const total = Number(count);
  const limit = Math.max(1, Number(window) || 1);
  let issued = 0;
  let open = 0;
  const pump = () => {
    while (open < limit && issued < total) {
      const n = issued++;
      const now = Date.now();
      if (entry.mo_first_ms === null) entry.mo_first_ms = now;
      const pdu = new smpp.PDU('deliver_sm', {
        source_addr: `${prefix || '2782'}${String(n).padStart(7, '0')}`,
        destination_addr: destination,
        esm_class: 0,
        data_coding: 0,
        short_message: Buffer.from(`mo ${n} ${now}`, 'latin1'),
      });
      open += 1;
      entry.mo_sent += 1;
      const sent = session.send(pdu, (resp) => {
        open -= 1;
        entry.mo_last_resp_ms = Date.now();
        if (resp.command_status === 0) entry.mo_ok += 1;
        else entry.mo_failed += 1;
        pump();
      });
      if (!sent) {
        entry.mo_failed += total - n;
        issued = total;
        return;
      }
    }
  };
  pump();
  return { started: total };
}

const routes = {
  'GET /stats': () => {
    const binds = {};
    for (const session of sessions) if (session.bindType) binds[session.systemId] = session.bindType;
    return { binds, gateways: Object.fromEntries(gateways) };
  },
  'POST /reset': (body) => {
    if (body.system_id) gateways.delete(body.system_id);
    else gateways.clear();
    for (const session of sessions) if (session.systemId) counters(session.systemId);
    return { ok: true };
  },
  'POST /mo': (body) => moBurst(body),
};

const control = http.createServer((req, res) => {
  let data = '';
  req.on('data', (chunk) => { data += chunk; });
  req.on('end', () => {
    let status = 200;
    let payload;
    try {
      const route = routes[`${req.method} ${req.url.split('?')[0]}`];
      if (!route) {
        status = 404;
        payload = { error: 'no such route' };
      } else {
        payload = route(data ? JSON.parse(data) : {});
      }
    } catch (err) {
      status = 400;
      payload = { error: String(err && err.message ? err.message : err) };
    }
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});

const server = smpp.createServer(onSession);
server.listen(0, '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    console.log(`SMSC listening smpp=${server.address().port} control=${control.address().port}`);
  });
});

function shutdown() {
  for (const session of [...sessions]) session.destroy();
  control.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
