using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// Debian's Prometheus (installed by <c>.ci/setup</c>) run by a test: on 127.0.0.1 and a free port, with its config and
/// storage in the test's own folder, scraping one target every second; stopped by its own process when disposed.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, StringBuilder output, Uri address)
    {
        _process = process;
        _output = output;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public static string? Binary => File.Exists("/usr/bin/prometheus") ? "/usr/bin/prometheus" : null;

    public static string? Promtool => File.Exists("/usr/bin/promtool") ? "/usr/bin/promtool" : null;

    public static async Task<PrometheusServer> StartAsync(string folder, Uri target, string job = "corescope")
    {
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: {job}
                metrics_path: /metrics
                static_configs:
                  - targets: ['{target.Authority}']
            """);

        var port = FreePort();
        var start = new ProcessStartInfo(Binary ?? throw new InvalidOperationException("prometheus is not installed"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(folder, "data"),
            "--web.listen-address=127.0.0.1:" + port,
            "--log.level=warn"])
        {
            start.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start prometheus");
        process.OutputDataReceived += (_, line) => { lock (output) { output.AppendLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { lock (output) { output.AppendLine(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new PrometheusServer(process, output, new Uri($"http://127.0.0.1:{port}/"));
        await server.WaitReadyAsync();
        return server;
    }

    /// <summary>An instant PromQL query over the HTTP API; returns the <c>data.result</c> array.</summary>
    public async Task<JsonElement> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadAsStringAsync();
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Polls <paramref name="promql"/> until its one value equals <paramref name="expected"/>; returns the last result.</summary>
    public async Task<JsonElement> WaitForValueAsync(string promql, string expected, int timeoutMs = 60_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var result = await QueryAsync(promql);
            if (result.GetArrayLength() == 1 && result[0].GetProperty("value")[1].GetString() == expected)
            {
                return result;
            }

            if (DateTime.UtcNow > deadline)
            {
                var targets = await _http.GetStringAsync("api/v1/targets");
                throw new TimeoutException($"{promql} is {result} instead of {expected}. Targets: {targets}. Prometheus said: {Output}");
            }

            await Task.Delay(250);
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();

        // Only the process this object started, by its own handle.
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var ready = await _http.GetAsync("-/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("prometheus did not become ready: " + Output);
            }

            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
