namespace HyperDex.Runtime.Templating;

/// <summary>
/// A frame of variables. Loops (one per iteration), macros, with blocks and {% generation %} open a new frame;
/// if does not, so a set inside an if changes its surroundings while a set inside a loop does not (hence namespace()).
/// </summary>
internal sealed class JinjaScope(JinjaScope? parent)
{
    private readonly Dictionary<string, object?> variables = new(StringComparer.Ordinal);

    public JinjaScope? Parent { get; } = parent;

    public bool TryLookup(string name, out object? value)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope.variables.TryGetValue(name, out value))
            {
                return true;
            }
        }

        value = null;
        return false;
    }

    public void Set(string name, object? value) => variables[name] = value;
}
