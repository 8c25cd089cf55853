"""The loopback sandbox: an AWS emulator and a MariaDB server that stand in for AWS and RDS."""
