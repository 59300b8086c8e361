// A visit counter. Every message adds one to a counter kept in the account's key-value
// store (the kv resource), and the reply says how many visits there have been so far.
var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;

var VisitCounter = App.extend(function (self) {
    App.call(self, 'states:count');

    // init runs once for every message the app handles, before any state is made.
    self.init = function () {
        // kv.incr adds `amount` to a number (a missing key counts as 0) and replies with
        // the new value. Keys are shared by all the account's conversations.
        return self.im
            .api_request('kv.incr', {key: 'visits', amount: 1})
            .then(function (reply) {
                self.visits = reply.value;
            });
    };

    self.states.add('states:count', function (name) {
        return new EndState(name, {
            text: 'Hello! You are visitor number ' + self.visits + '.',
            next: 'states:count'
        });
    });
});

vumigo.interact(this.api, VisitCounter);
