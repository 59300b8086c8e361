// A one-question rating survey that fires metrics: the average rating, and a running count
// of ratings. The metrics go to the store named by `metric_store` in the app's config
// (else its `name`), where dashboards and the metrics API find them.
var vumigo = require('vumigo_v02');
var App = vumigo.App;
var Choice = vumigo.states.Choice;
var ChoiceState = vumigo.states.ChoiceState;
var EndState = vumigo.states.EndState;

var RatingSurvey = App.extend(function (self) {
    App.call(self, 'states:rate');

    self.states.add('states:rate', function (name) {
        return new ChoiceState(name, {
            question: 'How was your visit today?',
            choices: [
                new Choice('5', 'Great'),
                new Choice('3', 'Fine'),
                new Choice('1', 'Poor')
            ],
            next: function (choice) {
                var metrics = self.im.metrics;
                // fire.avg sends metrics.fire with agg "avg"; fire.inc keeps a total in the
                // kv store and fires it with agg "last".
                return metrics.fire.avg('rating', Number(choice.value))
                    .then(function () {
                        return metrics.fire.inc('ratings');
                    })
                    .then(function () {
                        return 'states:thanks';
                    });
            }
        });
    });

    self.states.add('states:thanks', function (name) {
        return new EndState(name, {
            text: 'Thank you for rating us!',
            next: 'states:rate'
        });
    });
});

vumigo.interact(this.api, RatingSurvey);
