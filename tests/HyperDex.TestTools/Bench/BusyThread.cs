namespace HyperDex.TestTools.Bench;

/// <summary>
/// One thread that keeps a core busy until disposed (arithmetic in a register, no memory traffic): the competing load
/// of the contention figures, standing for another process on a shared server.
/// </summary>
public sealed class BusyThread : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public BusyThread()
    {
        _thread = new Thread(Spin) { IsBackground = true, Name = "bench-busy" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Spin()
    {
        double x = 1;
        while (!_stop)
        {
            for (int i = 0; i < 100_000; i++)
            {
                x = (x * 1.0000001) + 1e-9;
            }
        }

        GC.KeepAlive(x);
    }
}
