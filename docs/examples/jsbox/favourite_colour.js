// Remembers each person's favourite colour on their contact (the contacts resource), and
// greets them with it when they come back.
var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;
var FreeText = vumigo.states.FreeText;

var FavouriteColour = App.extend(function (self) {
    App.call(self, 'states:start');

    self.init = function () {
        // The contact with this message's address (made if there is none yet), found by
        // the app config's delivery_class: "ussd" (the default) and "sms" look at msisdn.
        return self.im.contacts.for_user().then(function (contact) {
            self.contact = contact;
        });
    };

    self.states.add('states:start', function (name) {
        var colour = self.contact.extra.colour;
        if (colour) {
            return new EndState(name, {
                text: 'Welcome back! Your favourite colour is ' + colour + '.',
                next: 'states:start'
            });
        }
        return new FreeText(name, {
            question: 'Hello! What is your favourite colour?',
            next: function (content) {
                // Extras are the contact's own fields: strings, kept with the contact.
                self.contact.extra.colour = content.trim().toLowerCase();
                return self.im.contacts.save(self.contact).then(function () {
                    return 'states:saved';
                });
            }
        });
    });

    self.states.add('states:saved', function (name) {
        return new EndState(name, {
            text: 'Thanks! I will remember that you like ' + self.contact.extra.colour + '.',
            next: 'states:start'
        });
    });
});

vumigo.interact(this.api, FavouriteColour);
