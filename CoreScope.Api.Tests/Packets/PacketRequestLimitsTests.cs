using System.Net.Sockets;
using System.Text;

namespace CoreScope.Api.Tests.Packets;

/// <summary>
/// Packet bodies over a real socket: a packet is a few KB of hex at most, so ingest and decode refuse anything much
/// larger with 413 before reading it, and Kestrel's own refusals carry their own names.
/// </summary>
public sealed class PacketRequestLimitsTests : WorkspaceTests
{
    private CoreScopeApiFactory StartServer()
    {
        var server = CreateServer();
        server.StartKestrel();
        return server;
    }

    [TestCase("/api/decode", false)]
    [TestCase("/api/decode", true)]
    [TestCase("/api/packets", false)]
    [TestCase("/api/packets", true)]
    public async Task Post_OfAMegabyteBody_Returns413ProblemDetails_AndStoresNothing(string path, bool chunked)
    {
        using var client = StartServer().CreateOperatorClient();
        var body = Encoding.UTF8.GetBytes("{\"hex\": \"" + new string('A', 1024 * 1024) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");

        // Without Content-Length the server cannot refuse up front; it must stop reading at the limit.
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("title").GetString().Should().Be("Payload Too Large");
        problem.RootElement.GetProperty("error").GetString().Should().Contain("too large").And.Contain("16384");
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(0);
    }

    [Test]
    public async Task Post_OfTheLargestPacketWithRoomToSpare_IsAccepted()
    {
        using var client = StartServer().CreateOperatorClient();
        var padding = new string(' ', 12 * 1024);

        using var response = await client.PostAsync("/api/packets", new StringContent(
            $"{{\"hex\": \"{SamplePackets.Advert}\",{padding}\"observer\": \"{new string('O', 128)}\", \"region\": \"SJC\"}}",
            Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Post_WhoseBodyStallsMidway_Returns408TitledRequestTimeout()
    {
        var server = StartServer().ServerAddress!;
        using var socket = new TcpClient();
        await socket.ConnectAsync(server.Host, server.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /api/decode HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"hex\": \"0A"));

        // Kestrel's minimum request body rate (240 B/s after 5 s) gives up on the body; the answer names that.
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var answer = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            answer.AppendLine(line);
            if (line.StartsWith('{'))
            {
                break;
            }
        }

        var text = answer.ToString();
        text.Should().StartWith("HTTP/1.1 408");
        text.Should().Contain("application/problem+json").And.Contain("\"title\":\"Request Timeout\"").And.Contain("\"error\":");
    }
}
