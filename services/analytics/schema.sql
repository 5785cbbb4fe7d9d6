-- The analytics snapshot, built from the staging tables raw_orders, raw_customers, raw_surveys.
-- Months are numbered year * 12 + month - 1, so month differences are subtractions.

-- Every distinct combination of the customer attributes the filters and breakdowns use, with
-- small codes for the filtered ones: a condition on a few codes is far cheaper per row than
-- one on a long list of cells.
CREATE TABLE cells AS
SELECT CAST(row_number() OVER (ORDER BY country, gender, age_bracket, family_status, profile) AS INTEGER) AS cell,
       CAST(dense_rank() OVER (ORDER BY country) AS SMALLINT) AS country_code,
       CAST(dense_rank() OVER (ORDER BY gender) AS SMALLINT) AS gender_code,
       CAST(dense_rank() OVER (ORDER BY age_bracket) AS SMALLINT) AS age_code,
       country, gender, age_bracket, family_status, profile
FROM (SELECT DISTINCT country, gender, age_bracket, family_status, profile FROM raw_customers);

CREATE TABLE cities AS
SELECT CAST(row_number() OVER (ORDER BY country, city) AS INTEGER) AS city_id, city, country
FROM (SELECT DISTINCT city, country FROM raw_customers);

-- Each order with the days of the customer's previous two orders, the next later order day and the number
-- of orders on earlier days: a customer has an order
-- in [a, b] exactly when one of its orders in [a, b] has no previous order on or after a.
CREATE TEMP TABLE sequenced AS
SELECT o.customer_id, CAST(CAST(o.ordered_at AS TIMESTAMP) AS DATE) AS day, o.amount,
       o.amount - coalesce(o.cost, 0.0) AS profit, CAST(hour(CAST(o.ordered_at AS TIMESTAMP)) AS TINYINT) AS hour,
       row_number() OVER w AS seq,
       CAST(lag(CAST(o.ordered_at AS TIMESTAMP)) OVER w AS DATE) AS prev_day,
       CAST(lag(CAST(o.ordered_at AS TIMESTAMP), 2) OVER w AS DATE) AS prev2_day,
       min(CAST(CAST(o.ordered_at AS TIMESTAMP) AS DATE)) OVER (PARTITION BY o.customer_id
           ORDER BY CAST(CAST(o.ordered_at AS TIMESTAMP) AS DATE)
           RANGE BETWEEN INTERVAL 1 DAY FOLLOWING AND UNBOUNDED FOLLOWING) AS next_day,  -- the next later day
       CAST(rank() OVER (PARTITION BY o.customer_id ORDER BY CAST(CAST(o.ordered_at AS TIMESTAMP) AS DATE)) - 1
            AS INTEGER) AS earlier  -- orders on earlier days
FROM raw_orders o
WINDOW w AS (PARTITION BY o.customer_id ORDER BY CAST(o.ordered_at AS TIMESTAMP), o.id);

CREATE TEMP TABLE milestones AS
SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, min(day) AS first_day, max(day) AS last_day,
       min(day) FILTER (WHERE seq = 2) AS second_day, arg_max(prev_day, seq) AS penultimate_day
FROM sequenced GROUP BY customer_id;

CREATE TABLE categories AS
SELECT DISTINCT category FROM raw_category_revenue ORDER BY category;

CREATE TABLE customer_categories AS
SELECT customer_id, category, revenue FROM raw_category_revenue ORDER BY customer_id, category;

-- Coupon events in time order per customer and coupon (a claim before a burn at the same moment): the balance
-- of claims minus burns, the latest claim at or before each burn, and whether a burn had no claim left to use
-- (it takes the balance to a new low below zero).
CREATE TEMP TABLE coupon_balance AS
SELECT id, customer_id, coupon_id, branch_id, event, CAST(occurred_at AS TIMESTAMP) AS occurred_at,
       sum(CASE event WHEN 'claimed' THEN 1 WHEN 'burned' THEN -1 ELSE 0 END) OVER w AS balance,
       max(CAST(occurred_at AS TIMESTAMP)) FILTER (WHERE event = 'claimed') OVER w AS claimed_at
FROM raw_coupon_events
WINDOW w AS (PARTITION BY customer_id, coupon_id ORDER BY CAST(occurred_at AS TIMESTAMP), event = 'burned', id
             ROWS UNBOUNDED PRECEDING);

CREATE TEMP TABLE coupon_facts AS
SELECT id, customer_id, coupon_id, branch_id, event, occurred_at, CAST(occurred_at AS DATE) AS day,
       CASE WHEN event = 'burned' THEN (epoch(occurred_at) - epoch(claimed_at)) / 86400.0 END AS days_to_burn,
       event = 'burned' AND balance < least(0, coalesce(min(balance) OVER (PARTITION BY customer_id, coupon_id
           ORDER BY occurred_at, event = 'burned', id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))
           AS unclaimed
FROM coupon_balance;

-- Per customer: claims, burns, the first burn and, around it, the orders before and the next later order day.
CREATE TEMP TABLE coupon_customers AS
SELECT customer_id, count(*) FILTER (WHERE event = 'claimed') AS claimed, count(*) FILTER (WHERE event = 'burned') AS burned,
       min(day) FILTER (WHERE event = 'burned') AS first_burn_day,
       arg_min_null(branch_id, (occurred_at, id)) FILTER (WHERE event = 'burned') AS first_burn_branch  -- NULL too
FROM coupon_facts GROUP BY customer_id;

CREATE TEMP TABLE first_burn_history AS
SELECT f.customer_id, count(*) FILTER (WHERE s.day < f.first_burn_day) AS orders_before_first_burn,
       min(s.day) FILTER (WHERE s.day > f.first_burn_day) AS next_order_after_first_burn
FROM coupon_customers f JOIN sequenced s USING (customer_id) WHERE f.first_burn_day IS NOT NULL GROUP BY f.customer_id;

-- Profile features for the segmentation (as of the reference date of the refresh).
CREATE TEMP TABLE customer_extras AS
SELECT r.customer_id, first(cc.category ORDER BY cc.revenue DESC, cc.category) AS top_category,
       any_value(e.claimed) AS claimed, any_value(e.burned) AS burned
FROM raw_customers r
LEFT JOIN customer_categories cc USING (customer_id)
LEFT JOIN coupon_customers e USING (customer_id)
GROUP BY r.customer_id;

CREATE TABLE customers AS
SELECT r.customer_id, r.external_id, r.name, r.country, r.city, r.gender, r.profile, r.rfm_segment,
       cells.cell, cells.country_code, cells.gender_code, cells.age_code, cities.city_id,
       CAST(r.age AS SMALLINT) AS age,
       coalesce(m.orders, 0) AS orders, coalesce(m.revenue, 0.0) AS revenue,
       m.first_day, CAST(year(m.first_day) * 12 + month(m.first_day) - 1 AS SMALLINT) AS first_month,
       m.second_day, m.penultimate_day, m.last_day,
       r.income, r.recency_days, r.tenure_days, r.discount, r.coupon_orders, x.top_category,
       r.clv_12m, r.purchases_12m, r.p_alive, r.churn_risk, r.revenue_at_risk,
       coalesce(x.claimed, 0) AS coupons_claimed, coalesce(x.burned, 0) AS coupons_burned,
       k.first_burn_day, k.first_burn_branch, CAST(CASE WHEN k.first_burn_day IS NOT NULL THEN coalesce(h.orders_before_first_burn, 0) END AS INTEGER)
           AS orders_before_first_burn,
       h.next_order_after_first_burn
FROM raw_customers r
JOIN cells ON cells.country IS NOT DISTINCT FROM r.country AND cells.gender = r.gender
          AND cells.age_bracket = r.age_bracket AND cells.family_status = r.family_status
          AND cells.profile = r.profile
JOIN cities ON cities.city IS NOT DISTINCT FROM r.city AND cities.country IS NOT DISTINCT FROM r.country
JOIN customer_extras x USING (customer_id)
LEFT JOIN milestones m USING (customer_id)
LEFT JOIN coupon_customers k USING (customer_id)
LEFT JOIN first_burn_history h USING (customer_id)
ORDER BY revenue DESC, r.customer_id;  -- the biggest customers first: a top-N query stops after one block

CREATE TABLE orders AS
SELECT s.day, CAST(year(s.day) * 12 + month(s.day) - 1 AS SMALLINT) AS month, s.customer_id, s.amount,
       s.profit, s.hour,
       c.cell, c.country_code, c.gender_code, c.age_code, c.city_id, c.age, s.prev_day, s.prev2_day, c.first_day, c.first_month,
       s.next_day, s.earlier,
       max(s.earlier) OVER (PARTITION BY s.customer_id ORDER BY s.day
           RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 DAY PRECEDING) AS earlier_before,  -- on the day before
       (s.prev_day IS NULL OR s.prev_day < date_trunc('month', s.day)) AS first_in_month
FROM sequenced s JOIN customers c USING (customer_id)
ORDER BY s.day, s.customer_id;

-- Full calendar months are read from these roll-ups; partial months from `orders`.
CREATE TABLE monthly AS
SELECT cell, country_code, gender_code, age_code, city_id, month, count(*) AS orders, sum(amount) AS revenue,
       count(*) FILTER (WHERE first_in_month) AS month_customers
FROM orders GROUP BY ALL ORDER BY month, cell, city_id;

CREATE TABLE cohort_months AS
SELECT cell, country_code, gender_code, age_code, first_month, month, count(*) AS customers
FROM orders WHERE first_in_month GROUP BY ALL ORDER BY first_month, month, cell;

CREATE TABLE surveys AS
SELECT CAST(CAST(r.answered_at AS TIMESTAMP) AS DATE) AS day, r.customer_id, c.cell, c.country_code,
       c.gender_code, c.age_code, r.nps_score
FROM raw_surveys r JOIN customers c USING (customer_id)
ORDER BY day;

-- Coupons: the events and the orders paid with a coupon, each with its customer's cell.
CREATE TABLE branches AS
SELECT id AS branch_id, name AS branch, city, country FROM raw_branches ORDER BY id;

CREATE TABLE coupons AS
SELECT id AS coupon_id, code, campaign, discount_pct, discount_amount,
       CAST(CAST(valid_from AS TIMESTAMP) AS DATE) AS valid_from, CAST(CAST(valid_to AS TIMESTAMP) AS DATE) AS valid_to
FROM raw_coupons ORDER BY id;

CREATE TABLE coupon_events AS
SELECT f.day, f.event, f.coupon_id, f.customer_id, f.branch_id, f.days_to_burn, f.unclaimed,
       c.cell, c.country_code, c.gender_code, c.age_code
FROM coupon_facts f JOIN customers c USING (customer_id)
ORDER BY f.day, f.customer_id;

CREATE TABLE coupon_orders AS
SELECT CAST(CAST(t.ordered_at AS TIMESTAMP) AS DATE) AS day, t.customer_id, t.coupon_id, t.branch_id,
       t.amount, t.discount, t.cost, c.cell, c.country_code, c.gender_code, c.age_code
FROM raw_coupon_orders t JOIN customers c USING (customer_id)
ORDER BY day, t.customer_id;

-- Campaigns and their assignments (a customer assigned twice keeps both rows: a health check).
CREATE TABLE campaigns AS
SELECT id AS campaign_id, name, kind, discount_pct, CAST(CAST(starts_on AS TIMESTAMP) AS DATE) AS starts_on,
       CAST(CAST(ends_on AS TIMESTAMP) AS DATE) AS ends_on, coalesce(cost, 0.0) AS cost, planned_treatment_share,
       description
FROM raw_campaigns ORDER BY starts_on, id;

CREATE TABLE campaign_assignments AS
SELECT campaign_id, customer_id, variant, CAST(CAST(assigned_at AS TIMESTAMP) AS DATE) AS assigned_day
FROM raw_assignments ORDER BY campaign_id, customer_id;

-- The days each campaign's readout measures: its window up to the last order day, and as many days right before
-- it (the pre-campaign window, CUPED's covariate). `services.campaigns.window` computes the same.
CREATE TEMP TABLE campaign_windows AS
SELECT campaign_id, starts_on AS first_day, least(ends_on, (SELECT max(day) FROM orders)) AS last_day,
       CAST(starts_on - CAST(least(ends_on, (SELECT max(day) FROM orders)) - starts_on + 1 AS INTEGER) AS DATE)
           AS pre_first_day
FROM campaigns WHERE starts_on <= (SELECT max(day) FROM orders);

CREATE TEMP TABLE campaign_members AS  -- assigned to exactly one variant (the others are counted, not analysed)
SELECT campaign_id, customer_id, min(variant) AS variant
FROM campaign_assignments GROUP BY campaign_id, customer_id HAVING count(DISTINCT variant) = 1;

-- Per campaign, analysed customer and day of the window with orders: what the day-by-day lift sums.
CREATE TABLE campaign_days AS
SELECT m.campaign_id, m.customer_id, o.day, count(*) AS orders, sum(o.amount) AS revenue, sum(o.profit) AS profit
FROM campaign_members m JOIN campaign_windows w USING (campaign_id)
JOIN orders o ON o.customer_id = m.customer_id AND o.day BETWEEN w.first_day AND w.last_day
GROUP BY ALL ORDER BY m.campaign_id, o.day, m.customer_id;

CREATE TEMP TABLE campaign_pre AS
SELECT m.campaign_id, m.customer_id, count(*) AS orders, sum(o.amount) AS revenue, sum(o.profit) AS profit
FROM campaign_members m JOIN campaign_windows w USING (campaign_id)
JOIN orders o ON o.customer_id = m.customer_id AND o.day >= w.pre_first_day AND o.day < w.first_day
GROUP BY ALL;

CREATE TEMP TABLE campaign_coupons AS
SELECT m.campaign_id, m.customer_id, count(*) FILTER (WHERE e.event = 'claimed') AS claims,
       count(*) FILTER (WHERE e.event = 'burned') AS burns
FROM campaign_members m JOIN campaign_windows w USING (campaign_id)
JOIN coupon_events e ON e.customer_id = m.customer_id AND e.day BETWEEN w.first_day AND w.last_day
GROUP BY ALL;

-- Per campaign and analysed customer: every metric value over the window and before it (zeros without orders),
-- with the customer's codes for the filters.
CREATE TABLE campaign_customers AS
SELECT m.campaign_id, m.customer_id, m.variant, c.country_code, c.gender_code, c.age_code,
       CAST(coalesce(d.orders, 0) > 0 AS INTEGER) AS converted, coalesce(d.orders, 0) AS orders,
       coalesce(d.revenue, 0.0) AS revenue, coalesce(d.profit, 0.0) AS profit,
       CAST(coalesce(p.orders, 0) > 0 AS INTEGER) AS pre_converted, coalesce(p.orders, 0) AS pre_orders,
       coalesce(p.revenue, 0.0) AS pre_revenue, coalesce(p.profit, 0.0) AS pre_profit,
       coalesce(k.claims, 0) AS claims, coalesce(k.burns, 0) AS burns
FROM campaign_members m JOIN campaign_windows USING (campaign_id) JOIN customers c USING (customer_id)
LEFT JOIN (SELECT campaign_id, customer_id, sum(orders) AS orders, sum(revenue) AS revenue, sum(profit) AS profit
           FROM campaign_days GROUP BY ALL) d USING (campaign_id, customer_id)
LEFT JOIN campaign_pre p USING (campaign_id, customer_id)
LEFT JOIN campaign_coupons k USING (campaign_id, customer_id)
ORDER BY m.campaign_id, m.customer_id;

DROP TABLE raw_orders;
DROP TABLE raw_customers;
DROP TABLE raw_surveys;
DROP TABLE raw_category_revenue;
DROP TABLE raw_coupon_events;
DROP TABLE raw_coupon_orders;
DROP TABLE raw_branches;
DROP TABLE raw_coupons;
DROP TABLE raw_campaigns;
DROP TABLE raw_assignments;
