using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(Pyroscope.WebUI.Tests.UiFixture))]
// One browser and one host for the whole assembly; the machine has two cores, so tests run one at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]

namespace Pyroscope.WebUI.Tests;

/// <summary>Starts the fixture-backed host and a headless Debian Chromium once for all browser tests.</summary>
public sealed class UiFixture : IAsyncLifetime
{
    public TestApiHost Host { get; } = new();
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public static string ChromiumPath => Environment.GetEnvironmentVariable("PYROSCOPE_TEST_CHROMIUM") ?? "/usr/bin/chromium";

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDir);
        await Host.StartAsync();
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"Chromium not found at {ChromiumPath}: run `apt-get install -y chromium` (Playwright's own browser download is not available here).");
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    public async Task<IPage> NewPageAsync(string? baseUrl = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl ?? Host.Url,
            ViewportSize = new ViewportSize { Width = 1600, Height = 1000 },
            AcceptDownloads = true,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        await Host.DisposeAsync();
    }
}
