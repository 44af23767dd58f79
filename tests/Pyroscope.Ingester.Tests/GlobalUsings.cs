global using Pyroscope.Storage.Tests;
