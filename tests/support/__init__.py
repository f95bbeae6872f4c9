"""What the tests share: builders of deliveries and stand-in marts, a real SFTP server, fault injection,
the reference DPD model, and `run_cli`. Test modules import from here, never from each other.
"""
