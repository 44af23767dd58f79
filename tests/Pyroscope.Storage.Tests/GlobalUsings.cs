global using MatchType = Pyroscope.Model.MatchType;
global using Label = Pyroscope.Model.Label;
