namespace HyperDex.Runtime.Templating;

/// <summary>The <c>loop</c> variable of a for loop: index, first/last, length, previtem/nextitem, cycle, changed, depth.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items, int depth0, Func<object?, string>? recurse)
{
    private object? lastChanged = new();

    public int Index0 { get; set; }

    public IReadOnlyList<object?> Items { get; } = items;

    public int Depth0 { get; } = depth0;

    /// <summary>loop(children) in a recursive loop: renders the loop body again, one level deeper.</summary>
    public Func<object?, string>? Recurse { get; } = recurse;

    public object? GetAttribute(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "revindex0" => (long)(Items.Count - Index0 - 1),
        "revindex" => (long)(Items.Count - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == Items.Count - 1,
        "length" => (long)Items.Count,
        "depth0" => (long)Depth0,
        "depth" => (long)Depth0 + 1,
        "previtem" => Index0 > 0 ? Items[Index0 - 1] : new JinjaUndefined(null, "there is no previous item"),
        "nextitem" => Index0 + 1 < Items.Count ? Items[Index0 + 1] : new JinjaUndefined(null, "there is no next item"),
        "cycle" => new PyFunction("cycle", (_, args, _) => args.Count == 0
            ? throw JinjaError.Type("no items for cycling given")
            : args[Index0 % args.Count]),
        "changed" => new PyFunction("changed", (_, args, _) =>
        {
            var value = new PyTuple(args.ToList());
            if (lastChanged is PyTuple previous && PyOps.Eq(previous, value))
            {
                return false;
            }

            lastChanged = value;
            return true;
        }),
        _ => new JinjaUndefined(this, name),
    };
}
