// Runs the real @pyroscope/nodejs client against a Pyroscope server for a few flushes, burning CPU in a
// function with a recognisable name. Usage: node pyroscope-client.js <serverAddress> <appName> <seconds>
const Pyroscope = require('@pyroscope/nodejs');

const [serverAddress, appName, seconds] = process.argv.slice(2);

Pyroscope.init({
  serverAddress,
  appName,
  tags: { region: 'e2e' },
  flushIntervalMs: 1000,
  wall: { samplingDurationMs: 1000, collectCpuTime: true },
});
Pyroscope.start();

function burnCpuForPyroscopeTest(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    x += Math.sqrt(x + 1);
  }
  return x;
}

const deadline = Date.now() + Number(seconds) * 1000;
const timer = setInterval(() => {
  burnCpuForPyroscopeTest(50);
  if (Date.now() > deadline) {
    clearInterval(timer);
    Pyroscope.stop().then(() => process.exit(0), () => process.exit(0));
  }
}, 60);
