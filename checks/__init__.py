"""DNS probes: SPF, DKIM, DMARC, MX, PTR. Knows DNS and nothing else."""
