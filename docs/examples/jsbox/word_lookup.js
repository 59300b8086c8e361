// Looks a word up with an outside web service over the http resource, the only way out of
// the sandbox. The service's address comes from the app's config (`dictionary_url`), so the
// same code can be pointed at a test service. It answers {"definition": "..."} as JSON.
var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;
var FreeText = vumigo.states.FreeText;
var JsonApi = vumigo.http.api.JsonApi;

var WordLookup = App.extend(function (self) {
    App.call(self, 'states:ask');

    self.init = function () {
        // JsonApi sends JSON and parses the JSON it gets back (resp.data).
        self.http = new JsonApi(self.im);
    };

    self.states.add('states:ask', function (name) {
        return new FreeText(name, {
            question: 'Which word should I look up?',
            next: function (content) {
                var word = content.trim().toLowerCase();
                return self.http
                    .get(self.im.config.dictionary_url, {params: {word: word}})
                    .then(function (resp) {
                        return {
                            name: 'states:answer',
                            creator_opts: {word: word, definition: resp.data.definition}
                        };
                    }, function (error) {
                        // A status that is not 2xx, or no answer at all.
                        return {name: 'states:answer', creator_opts: {word: word}};
                    });
            }
        });
    });

    self.states.add('states:answer', function (name, opts) {
        var text = opts.definition
            ? opts.word + ': ' + opts.definition
            : 'Sorry, I could not look up ' + opts.word + ' just now.';
        return new EndState(name, {text: text, next: 'states:ask'});
    });
});

vumigo.interact(this.api, WordLookup);
