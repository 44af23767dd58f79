using Pyroscope.Formats.Jfr;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Jfr.JfrTestSupport;

namespace Pyroscope.Formats.Tests.Jfr;

public sealed class JfrSeriesLabelsTests
{
    [Fact]
    public void Series_labels_follow_upstream()
    {
        var jfr = ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz"));
        var labels = ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.labels.pb.gz"));
        var result = JfrConverter.Convert(jfr, labels, new JfrConvertOptions());
        var withContext = result.First(p => p.ExtraLabels.Count > 0);

        var series = JfrSeriesLabels.For(
            withContext,
            [new Label("env", "prod"), new Label("__secret__", "x"), new Label("__session_id__", "s1")],
            "kafka.app",
            "javaspy",
            result.JfrEvent);

        Assert.Equal("prod", series.Get("env"));
        Assert.Null(series.Get("__secret__"));
        Assert.Equal("s1", series.Get("__session_id__"));
        Assert.Equal(withContext.ExtraLabels.Get("thread_name"), series.Get("thread_name"));
        Assert.Equal("javaspy", series.Get(LabelNames.Spy));
        Assert.Equal("false", series.Get(LabelNames.Delta));
        Assert.Equal("kafka.app", series.Get(LabelNames.ServiceName));
        Assert.Equal("itimer", series.Get(JfrSeriesLabels.JfrEvent));
        Assert.Equal("process_cpu", series.Get(LabelNames.MetricName));
    }

    [Fact]
    public void An_explicit_service_name_moves_the_app_name_to_app_name()
    {
        var profile = new JfrProfile(new ProfileTypeId("memory", "alloc_sample_bytes", "bytes", "space", "bytes"), LabelSet.Empty, new());

        var series = JfrSeriesLabels.For(profile, [new Label("service_name", "svc")], "app", "javaspy", "");

        Assert.Equal("svc", series.Get(LabelNames.ServiceName));
        Assert.Equal("app", series.Get(LabelNames.AppName));
        Assert.Null(series.Get(JfrSeriesLabels.JfrEvent));
        Assert.Equal("memory", series.Get(LabelNames.MetricName));
    }
}
