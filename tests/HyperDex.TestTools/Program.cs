namespace HyperDex.TestTools;

/// <summary>
/// `HyperDex.TestTools &lt;command&gt; [options]`: each command is an <see cref="ITestToolCommand"/>; add one class per command.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var commands = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(ITestToolCommand).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
            .Select(t => (ITestToolCommand)Activator.CreateInstance(t)!)
            .ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);

        if (args.Length == 0 || !commands.TryGetValue(args[0], out var command))
        {
            Console.Error.WriteLine("usage: HyperDex.TestTools <command> [options]; commands: " + string.Join(", ", commands.Keys.Order()));
            return 2;
        }

        return command.Run(ToolArguments.Parse(args.Skip(1)));
    }
}

public interface ITestToolCommand
{
    string Name { get; }

    int Run(ToolArguments arguments);
}

/// <summary>`--name value` pairs and bare `--flag`s.</summary>
public sealed class ToolArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public static ToolArguments Parse(IEnumerable<string> args)
    {
        var parsed = new ToolArguments();
        string? pending = null;
        foreach (string arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null)
                {
                    parsed._values[pending] = "true";
                }

                pending = arg[2..];
            }
            else if (pending is not null)
            {
                parsed._values[pending] = arg;
                pending = null;
            }
            else
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }
        }

        if (pending is not null)
        {
            parsed._values[pending] = "true";
        }

        return parsed;
    }

    public string Get(string name) => _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

    public string Get(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;

    public int GetInt(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public bool Has(string name) => _values.ContainsKey(name);
}
