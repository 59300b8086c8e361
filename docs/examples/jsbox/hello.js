var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;

var HelloApp = App.extend(function (self) {
    App.call(self, 'states:start');            // the state a new user starts in

    self.states.add('states:start', function (name) {
        return new EndState(name, {text: 'Hello!', next: 'states:start'});
    });
});

vumigo.interact(this.api, HelloApp);           // hand the app to the sandbox
