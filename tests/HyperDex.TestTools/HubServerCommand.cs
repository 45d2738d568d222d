using HyperDex.TestTools.Hub;

namespace HyperDex.TestTools;

/// <summary>
/// `hub-server --repos "org/a=folder;org/b=folder" [--unneeded] [--token T] [--private org/a] [--gated org/b]
/// [--drop-halfway file] [--corrupt file] [--answer "org/a=403:GatedRepo"] [--chunk-delay-ms N] [--fail-next N]
/// [--lifetime-seconds 900]`: serves the folders as Hub repositories on 127.0.0.1, prints the endpoint URL as the
/// first stdout line, and runs until stdin closes or the lifetime ends.
/// </summary>
public sealed class HubServerCommand : ITestToolCommand
{
    public string Name => "hub-server";

    public int Run(ToolArguments arguments)
    {
        var repos = arguments.Get("repos").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(entry =>
        {
            string[] parts = entry.Split('=', 2);
            var repo = new HubTestRepo(parts[0]).AddFolder(parts[1]);
            return arguments.Has("unneeded") ? repo.AddUnneededFiles() : repo;
        }).ToArray();

        using var server = new HubTestServer(repos);
        if (arguments.Has("token"))
        {
            server.ValidTokens.Add(arguments.Get("token"));
        }

        foreach (var repo in repos)
        {
            repo.Private = arguments.Get("private", string.Empty) == repo.Id;
            repo.Gated = arguments.Get("gated", string.Empty) == repo.Id;
        }

        if (arguments.Has("drop-halfway"))
        {
            server.Faults.DropHalfway(arguments.Get("drop-halfway"));
        }

        if (arguments.Has("corrupt"))
        {
            server.Faults.Corrupt(arguments.Get("corrupt"));
        }

        if (arguments.Has("answer"))
        {
            string[] answer = arguments.Get("answer").Split('=', 2);
            string[] status = answer[1].Split(':', 2);
            server.Faults.AnswerRepo(answer[0], int.Parse(status[0], System.Globalization.CultureInfo.InvariantCulture), status.Length > 1 ? status[1] : null);
        }

        server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(arguments.GetInt("chunk-delay-ms", 0));
        server.Faults.FailNext(arguments.GetInt("fail-next", 0));

        Console.Out.WriteLine(server.Endpoint.AbsoluteUri.TrimEnd('/'));
        Console.Out.Flush();

        // Bounded: stop when the parent closes our stdin (or dies), or after the lifetime.
        var stdinClosed = Task.Run(() =>
        {
            while (Console.In.ReadLine() is not null)
            {
            }
        });
        stdinClosed.Wait(TimeSpan.FromSeconds(arguments.GetInt("lifetime-seconds", 900)));
        return 0;
    }
}
