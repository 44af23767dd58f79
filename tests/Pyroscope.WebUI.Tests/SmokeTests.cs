using Microsoft.Playwright;

namespace Pyroscope.WebUI.Tests;

public sealed class SmokeTests(UiFixture ui)
{
    [Fact]
    public async Task Single_view_renders()
    {
        var page = await ui.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync("/");
        await page.WaitForFunctionAsync("() => window.pyroscopeUI && window.pyroscopeUI.model");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ui.ScreenshotDir, "smoke.png"), FullPage = true });
        Assert.Empty(errors);
    }
}
