namespace HyperDex;

/// <summary>One text and its token ids (ConvertTo-HdxTokenId).</summary>
public sealed class Tokenization
{
    internal Tokenization(string text, int[] ids)
    {
        Text = text;
        Ids = ids;
    }

    public string Text { get; }

    public int[] Ids { get; }

    public int Count => Ids.Length;
}
