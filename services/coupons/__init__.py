"""The Coupons tab's analytics: the funnel, branches, coupon users, usage, retention and the coupon table."""
